import type { AccountSettings } from '@app/core';
import type { AppConfig } from '@app/config';
import { drawdownSettingsFromConfig } from '@app/drawdown';

/** The account's settings from the service configuration (one account per process today). */
export function accountSettingsFromConfig(config: AppConfig): AccountSettings {
  return {
    loopId: config.loopId,
    loopTickMs: config.loopTickMs,
    heartbeat: { intervalMs: config.heartbeatIntervalMs, staleAfterMs: config.heartbeatStaleAfterMs },
    risk: drawdownSettingsFromConfig(config),
    mt5: { magic: config.mt5.magic, maxRetries: config.mt5.maxRetries },
    signals: {
      approvalMode: config.signals.approvalMode,
      maxOrdersPerSecond: config.signals.maxOrdersPerSecond,
      maxAgeMs: config.signals.maxAgeMs,
    },
    where: config.stateDir,
  };
}
