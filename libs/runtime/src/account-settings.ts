import type { AccountSettings } from '@app/core';
import type { AccountConfig, AppConfig } from '@app/config';
import { accountStateDir } from '@app/config';

/**
 * One account's runtime settings: its own keys (docs/accounts.md), its drawdown guard's settings
 * (DrawdownModule), and the process's timings.
 */
export function accountSettingsFor(
  config: AppConfig,
  account: AccountConfig,
  risk: AccountSettings['risk'],
): AccountSettings {
  return {
    accountId: account.id,
    channels: account.channels,
    loopId: config.loopId,
    loopTickMs: config.loopTickMs,
    heartbeat: { intervalMs: config.heartbeatIntervalMs, staleAfterMs: config.heartbeatStaleAfterMs },
    risk,
    mt5: { magic: account.mt5.magic, maxRetries: account.mt5.maxRetries },
    signals: {
      approvalMode: account.approvalMode,
      maxOrdersPerSecond: account.maxOrdersPerSecond,
      maxAgeMs: config.signals.maxAgeMs,
    },
    sizing: account.sizing,
    maxVolume: account.maxVolume,
    where: accountStateDir(config.stateDir, account.id),
  };
}
