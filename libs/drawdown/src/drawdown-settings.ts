import type { AccountSettings } from '@app/core';
import type { AccountConfig, AppConfig } from '@app/config';

/** One account's drawdown guard settings (docs/risk.md): its caps and baseline, the process's check interval. */
export function drawdownSettingsFor(config: AppConfig, account: AccountConfig): AccountSettings['risk'] {
  const r = account.risk;
  return {
    capPercent: r.drawdownCapPercent,
    baselineMode: r.baselineMode,
    ...(r.dailyLossCapPercent === undefined ? {} : { dailyLossCapPercent: r.dailyLossCapPercent }),
    dailyResetTimezone: r.dailyResetTimezone,
    warnRatio: r.warnRatio,
    confirmReads: r.confirmReads,
    equityCheckIntervalMs: config.risk.equityCheckIntervalMs,
  };
}

/** Every account's drawdown settings, by account id (a `Map<string, AccountSettings['risk']>`). */
export const DRAWDOWN_SETTINGS = Symbol('DRAWDOWN_SETTINGS');
