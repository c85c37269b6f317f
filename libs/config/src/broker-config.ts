import { z } from 'zod';
import type { AppConfig } from './app-config';
import { csv, httpUrl, int, num, type EnvReader } from './env-reader';

/** Reads the account the bot trades on: MT5_* (gateway, bridge, retries, magic) and PAPER_*. */
export function readBrokerConfig(r: EnvReader): Pick<AppConfig, 'mt5' | 'paper'> {
  return {
    mt5: {
      gateway: r.parse('MT5_GATEWAY', z.enum(['paper', 'http']), 'paper', '`paper` or `http`'),
      bridgeUrl: r.optional('MT5_BRIDGE_URL', httpUrl, 'an http(s) URL'),
      bridgeKeyId: r.optional('MT5_BRIDGE_KEY_ID', z.string(), 'a key id'),
      bridgeSecret: r.optional('MT5_BRIDGE_SECRET', z.string().min(8), 'a secret of at least 8 characters'),
      timeoutMs: r.parse(
        'MT5_TIMEOUT_MS',
        int(10, 120_000),
        3000,
        'an integer of milliseconds, 10 to 120000',
      ),
      maxRetries: r.parse('MT5_MAX_RETRIES', int(0, 10), 3, 'an integer, 0 to 10'),
      // 0 is what MT5 stamps on trades made by hand: the bot's positions must be told apart from those.
      magic: r.parse(
        'MT5_MAGIC',
        int(1, 2_147_483_647),
        19019,
        'an integer from 1 to 2147483647 (0 marks manual trades)',
      ),
    },
    paper: {
      balance: r.parse(
        'PAPER_BALANCE',
        num().refine((v) => v > 0),
        10_000,
        'a positive number',
      ),
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
