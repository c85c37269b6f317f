import { z } from 'zod';
import type { AppConfig, Mt5GatewayKind, SignalSourceKind } from './app-config';
import { csv, httpUrl, int, num, type EnvReader } from './env-reader';

const SOURCES = ['inbox', 'demo', 'platform'] as const;

/** Reads where signals come from and how they are admitted: SIGNAL_*, limits, PLATFORM_API_*. */
export function readSignalConfig(
  r: EnvReader,
  gateway: Mt5GatewayKind,
): Pick<AppConfig, 'signals' | 'platform'> {
  const defaultSources: SignalSourceKind[] = gateway === 'paper' ? ['demo', 'inbox'] : ['inbox'];
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
      approvalMode: r.parse('APPROVAL_MODE', z.enum(['auto', 'manual']), 'auto', '`auto` or `manual`'),
      maxVolume: r.parse(
        'MAX_VOLUME',
        num().refine((v) => v > 0 && v <= 10_000),
        100,
        'a number of lots, 0 < x <= 10000',
      ),
      maxOrdersPerSecond: r.parse('MAX_ORDERS_PER_SECOND', int(1, 100_000), 50, 'an integer, 1 to 100000'),
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
