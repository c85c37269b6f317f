import { z } from 'zod';
import { isValidTimeZone } from '@app/core';
import type { AccountConfig } from './account-config';
import type { EnvReader } from './env-reader';

/**
 * A per-account setting that is also an environment variable, with one rule for both: in
 * ACCOUNTS_FILE the value is typed (a YAML number is a number, `"20"` is not), in the
 * environment the same rule reads the string.
 */
export interface Setting<T> {
  env: string;
  file: z.ZodType<T>;
  fromEnv: z.ZodType<T>;
  fallback: T;
  /** What the value must be, in words (the same text for the variable and the key). */
  expected: string;
}

const numeric = (
  env: string,
  rule: z.ZodType<number, number>,
  fallback: number,
  expected: string,
): Setting<number> => ({
  env,
  file: rule,
  fromEnv: z.coerce.number().pipe(rule),
  fallback,
  expected,
});

const textual = <T extends string>(
  env: string,
  rule: z.ZodType<T>,
  fallback: T,
  expected: string,
): Setting<T> => ({
  env,
  file: rule,
  fromEnv: rule,
  fallback,
  expected,
});

// z.number() refuses NaN and the infinities.
const integer = (min: number, max: number) => z.number().int().min(min).max(max);
const percent = z.number().refine((v) => v > 0 && v <= 100);
const PERCENT_TEXT = 'a number, 0 < x <= 100';

/** The daily cap is optional: unset means none. In the file `null` says "none" over defaults and environment. */
const dailyLossCap: Setting<number | undefined> = {
  env: 'DAILY_LOSS_CAP_PERCENT',
  file: percent.nullable().transform((v) => v ?? undefined),
  fromEnv: z.coerce.number().pipe(percent),
  fallback: undefined,
  expected: PERCENT_TEXT,
};

/** Keyed by their name in ACCOUNTS_FILE; `env` is the variable that is their default there. */
export const ACCOUNT_SETTINGS = {
  drawdown_cap_percent: numeric('DRAWDOWN_CAP_PERCENT', percent, 20, PERCENT_TEXT),
  drawdown_baseline: textual('DRAWDOWN_BASELINE', z.enum(['start', 'peak']), 'start', '`start` or `peak`'),
  daily_loss_cap_percent: dailyLossCap,
  daily_reset_timezone: textual(
    'DAILY_RESET_TIMEZONE',
    z.string().refine(isValidTimeZone),
    'UTC',
    'an IANA time zone such as UTC or Europe/Prague',
  ),
  drawdown_warn_ratio: numeric(
    'DRAWDOWN_WARN_RATIO',
    z.number().refine((v) => v > 0 && v < 1),
    0.8,
    'a number, 0 < x < 1',
  ),
  drawdown_confirm_reads: numeric('DRAWDOWN_CONFIRM_READS', integer(1, 100), 2, 'an integer, 1 to 100'),
  max_volume: numeric(
    'MAX_VOLUME',
    z.number().refine((v) => v > 0 && v <= 10_000),
    100,
    'a number of lots, 0 < x <= 10000',
  ),
  max_orders_per_second: numeric('MAX_ORDERS_PER_SECOND', integer(1, 100_000), 50, 'an integer, 1 to 100000'),
  approval_mode: textual('APPROVAL_MODE', z.enum(['auto', 'manual']), 'auto', '`auto` or `manual`'),
  // 0 is what MT5 stamps on trades made by hand: the bot's positions must be told apart from those.
  mt5_magic: numeric(
    'MT5_MAGIC',
    integer(1, 2_147_483_647),
    19019,
    'an integer from 1 to 2147483647 (0 marks manual trades)',
  ),
  mt5_timeout_ms: numeric(
    'MT5_TIMEOUT_MS',
    integer(10, 120_000),
    3000,
    'an integer of milliseconds, 10 to 120000',
  ),
  mt5_max_retries: numeric('MT5_MAX_RETRIES', integer(0, 10), 3, 'an integer, 0 to 10'),
};

/** `paper: { balance }` in the file, PAPER_BALANCE in the environment. */
export const PAPER_BALANCE = numeric(
  'PAPER_BALANCE',
  z.number().refine((v) => v > 0),
  10_000,
  'a positive number',
);

export type AccountSettingKey = keyof typeof ACCOUNT_SETTINGS;
export type AccountSettings = { [K in AccountSettingKey]: z.output<(typeof ACCOUNT_SETTINGS)[K]['file']> };
export const ACCOUNT_SETTING_KEYS = Object.keys(ACCOUNT_SETTINGS) as AccountSettingKey[];

/** The setting's variable, or its default when unset; a bad value is a problem of the reader. */
export function readSetting<T>(r: EnvReader, setting: Setting<T>): T {
  return r.parse(setting.env, setting.fromEnv, setting.fallback, setting.expected);
}

/** `account` with the settings that `given` has (a key present with `undefined`: the daily cap is off). */
export function withSettings(account: AccountConfig, given: Partial<AccountSettings>): AccountConfig {
  const pick = <K extends AccountSettingKey>(key: K, current: AccountSettings[K]): AccountSettings[K] =>
    Object.hasOwn(given, key) ? (given[key] as AccountSettings[K]) : current;
  const { risk, mt5 } = account;
  return {
    ...account,
    risk: {
      drawdownCapPercent: pick('drawdown_cap_percent', risk.drawdownCapPercent),
      baselineMode: pick('drawdown_baseline', risk.baselineMode),
      dailyLossCapPercent: pick('daily_loss_cap_percent', risk.dailyLossCapPercent),
      dailyResetTimezone: pick('daily_reset_timezone', risk.dailyResetTimezone),
      warnRatio: pick('drawdown_warn_ratio', risk.warnRatio),
      confirmReads: pick('drawdown_confirm_reads', risk.confirmReads),
    },
    maxVolume: pick('max_volume', account.maxVolume),
    maxOrdersPerSecond: pick('max_orders_per_second', account.maxOrdersPerSecond),
    approvalMode: pick('approval_mode', account.approvalMode),
    mt5: {
      magic: pick('mt5_magic', mt5.magic),
      timeoutMs: pick('mt5_timeout_ms', mt5.timeoutMs),
      maxRetries: pick('mt5_max_retries', mt5.maxRetries),
    },
  };
}
