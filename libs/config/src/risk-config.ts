import type { AppConfig } from './app-config';
import { ACCOUNT_SETTINGS as S, readSetting } from './account-settings';
import { int, type EnvReader } from './env-reader';

/** Reads the drawdown guard: EQUITY_CHECK_INTERVAL_MS, DRAWDOWN_* and the daily loss cap (DAILY_*). */
export function readRiskConfig(r: EnvReader): AppConfig['risk'] {
  return {
    equityCheckIntervalMs: r.parse(
      'EQUITY_CHECK_INTERVAL_MS',
      int(10, 600_000),
      1000,
      'an integer of milliseconds, 10 to 600000',
    ),
    // Per-account settings (ACCOUNTS_FILE may override them): one rule in account-settings.ts.
    drawdownCapPercent: readSetting(r, S.drawdown_cap_percent),
    baselineMode: readSetting(r, S.drawdown_baseline),
    dailyLossCapPercent: readSetting(r, S.daily_loss_cap_percent),
    dailyResetTimezone: readSetting(r, S.daily_reset_timezone),
    warnRatio: readSetting(r, S.drawdown_warn_ratio),
    confirmReads: readSetting(r, S.drawdown_confirm_reads),
  };
}
