import { z } from 'zod';
import { isValidTimeZone } from '@app/core';
import type { AppConfig } from './app-config';
import { int, num, type EnvReader } from './env-reader';

/** Reads the drawdown guard: EQUITY_CHECK_INTERVAL_MS, DRAWDOWN_* and the daily loss cap (DAILY_*). */
export function readRiskConfig(r: EnvReader): AppConfig['risk'] {
  return {
    equityCheckIntervalMs: r.parse(
      'EQUITY_CHECK_INTERVAL_MS',
      int(10, 600_000),
      1000,
      'an integer of milliseconds, 10 to 600000',
    ),
    drawdownCapPercent: r.parse(
      'DRAWDOWN_CAP_PERCENT',
      num().refine((v) => v > 0 && v <= 100),
      20,
      'a number, 0 < x <= 100',
    ),
    baselineMode: r.parse('DRAWDOWN_BASELINE', z.enum(['start', 'peak']), 'start', '`start` or `peak`'),
    dailyLossCapPercent: r.optional(
      'DAILY_LOSS_CAP_PERCENT',
      num().refine((v) => v > 0 && v <= 100),
      'a number, 0 < x <= 100',
    ),
    dailyResetTimezone: r.parse(
      'DAILY_RESET_TIMEZONE',
      z.string().refine(isValidTimeZone),
      'UTC',
      'an IANA time zone such as UTC or Europe/Prague',
    ),
    warnRatio: r.parse(
      'DRAWDOWN_WARN_RATIO',
      num().refine((v) => v > 0 && v < 1),
      0.8,
      'a number, 0 < x < 1',
    ),
    confirmReads: r.parse('DRAWDOWN_CONFIRM_READS', int(1, 100), 2, 'an integer, 1 to 100'),
  };
}
