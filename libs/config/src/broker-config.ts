import { z } from 'zod';
import type { AppConfig } from './app-config';
import { BRIDGE_URL } from './account-bridge';
import { BRIDGE_SECRET } from './bridge-secret';
import { ACCOUNT_SETTINGS as S, PAPER_BALANCE, readSetting } from './account-settings';
import { csv, int, num, type EnvReader } from './env-reader';

/** Reads the account the bot trades on: MT5_* (gateway, bridge, retries, magic) and PAPER_*. */
export function readBrokerConfig(r: EnvReader): Pick<AppConfig, 'mt5' | 'paper'> {
  return {
    mt5: {
      gateway: r.parse('MT5_GATEWAY', z.enum(['paper', 'http']), 'paper', '`paper` or `http`'),
      bridgeUrl: r.optional('MT5_BRIDGE_URL', BRIDGE_URL.rule, BRIDGE_URL.expected),
      bridgeKeyId: r.optional('MT5_BRIDGE_KEY_ID', z.string(), 'a key id'),
      bridgeSecret: r.optional('MT5_BRIDGE_SECRET', BRIDGE_SECRET.rule, BRIDGE_SECRET.expected),
      // Per-account settings (ACCOUNTS_FILE may override them): one rule in account-settings.ts.
      timeoutMs: readSetting(r, S.mt5_timeout_ms),
      maxRetries: readSetting(r, S.mt5_max_retries),
      magic: readSetting(r, S.mt5_magic),
    },
    paper: {
      balance: readSetting(r, PAPER_BALANCE),
      symbols: r.parse(
        'PAPER_SYMBOLS',
        csv(z.string().regex(/^[A-Za-z0-9._-]{1,32}$/)).transform((list) => [
          ...new Set(list.map((s) => s.toUpperCase())),
        ]),
        ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'],
        'a comma list of instrument names',
      ),
      seed: r.parse('PAPER_SEED', int(0, 4_294_967_295), 42, 'an integer, 0 to 4294967295'),
      stopOutLevelPercent: r.parse(
        'PAPER_STOP_OUT_LEVEL',
        num().refine((v) => v > 0 && v <= 1000),
        50,
        'a percent of margin level, 0 < x <= 1000',
      ),
    },
  };
}
