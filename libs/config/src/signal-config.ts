import { z } from 'zod';
import type { AppConfig, SignalSourceKind } from './app-config';
import { ACCOUNT_SETTINGS as S, readSetting } from './account-settings';
import { csv, httpUrl, int, num, type EnvReader } from './env-reader';

const SOURCES = ['inbox', 'demo', 'platform'] as const;

/**
 * Reads where signals come from and how they are admitted: SIGNAL_*, limits, PLATFORM_API_*.
 * `tradesRealAccount` (some account has the http gateway): SIGNAL_SOURCES defaults to the inbox
 * alone, since demo signals never trade a real account; otherwise to demo and inbox.
 */
export function readSignalConfig(
  r: EnvReader,
  tradesRealAccount: boolean,
): Pick<AppConfig, 'signals' | 'platform'> {
  const defaultSources: SignalSourceKind[] = tradesRealAccount ? ['inbox'] : ['demo', 'inbox'];
  return {
    signals: {
      sources: r.parse(
        'SIGNAL_SOURCES',
        csv(z.enum(SOURCES)).transform((list) => [...new Set(list)]),
        defaultSources,
        'a comma list of `inbox`, `demo`, `platform`',
      ),
      hmacSecret: r.optional('SIGNALS_HMAC_SECRET', z.string().min(16), 'at least 16 characters'),
      maxAgeMs: r.parse(
        'SIGNAL_MAX_AGE_MS',
        int(1000, 86_400_000),
        300_000,
        'an integer of milliseconds, 1000 to 86400000',
      ),
      // Per-account settings (ACCOUNTS_FILE may override them): one rule in account-settings.ts.
      approvalMode: readSetting(r, S.approval_mode),
      maxVolume: readSetting(r, S.max_volume),
      maxOrdersPerSecond: readSetting(r, S.max_orders_per_second),
      hostMaxOrdersPerSecond: r.parse(
        'HOST_MAX_ORDERS_PER_SECOND',
        int(1, 1_000_000),
        10_000,
        'an integer, 1 to 1000000',
      ),
      demoSignalsPerMinute: r.parse(
        'DEMO_SIGNALS_PER_MINUTE',
        num().refine((v) => v > 0 && v <= 60_000),
        6,
        'a number, 0 < x <= 60000',
      ),
    },
    platform: {
      apiUrl: r.optional('PLATFORM_API_URL', httpUrl, 'an http(s) URL'),
      apiKeyId: r.optional('PLATFORM_API_KEY_ID', z.string(), 'a key id'),
      apiSecret: r.optional('PLATFORM_API_SECRET', z.string().min(8), 'a secret of at least 8 characters'),
    },
  };
}
