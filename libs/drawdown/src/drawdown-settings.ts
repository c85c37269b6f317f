import type { AccountSettings } from '@app/core';
import type { AppConfig } from '@app/config';

/** The drawdown guard's settings (docs/risk.md) from the service configuration. */
export function drawdownSettingsFromConfig(config: AppConfig): AccountSettings['risk'] {
  const r = config.risk;
  return {
    capPercent: r.drawdownCapPercent,
    baselineMode: r.baselineMode,
    ...(r.dailyLossCapPercent === undefined ? {} : { dailyLossCapPercent: r.dailyLossCapPercent }),
    dailyResetTimezone: r.dailyResetTimezone,
    warnRatio: r.warnRatio,
    confirmReads: r.confirmReads,
    equityCheckIntervalMs: r.equityCheckIntervalMs,
  };
}

export const DRAWDOWN_SETTINGS = Symbol('DRAWDOWN_SETTINGS');
