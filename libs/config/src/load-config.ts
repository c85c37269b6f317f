import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isValidTimeZone } from '@app/core';
import type { AppConfig, SignalSourceKind } from './app-config';

/** One problem with one variable, ready to log: `{ variable, expected }`. */
export interface ConfigProblem {
  variable: string;
  expected: string;
}

/** Valid but probably not meant: logged at start, never fatal. */
export type ConfigWarning = ConfigProblem;

export type ConfigResult =
  { ok: true; config: AppConfig; warnings: ConfigWarning[] } | { ok: false; problems: ConfigProblem[] };

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const SOURCES = ['inbox', 'demo', 'platform'] as const;

/**
 * Each variable is parsed on its own so that every bad one is reported, not just the first.
 * An empty string counts as unset (compose and Kubernetes often pass `VAR=`).
 */
class EnvReader {
  readonly problems: ConfigProblem[] = [];

  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  parse<T>(name: string, schema: z.ZodType<T>, fallback: T, expected: string): T {
    return this.optional(name, schema, expected) ?? fallback;
  }

  optional<T>(name: string, schema: z.ZodType<T>, expected: string): T | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    this.problems.push({ variable: name, expected });
    return undefined;
  }

  require(name: string, expected: string, when: string): void {
    if (this.raw(name) === undefined)
      this.problems.push({ variable: name, expected: `${expected} (required ${when})` });
  }
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const num = () => z.coerce.number().refine(Number.isFinite);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const httpUrl = z.url({ protocol: /^https?$/ });
const csv = <T>(item: z.ZodType<T, string>) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    )
    .pipe(z.array(item).min(1));

export function loadConfig(env: Env): ConfigResult {
  const r = new EnvReader(env);

  const gateway = r.parse('MT5_GATEWAY', z.enum(['paper', 'http']), 'paper', '`paper` or `http`');
  const defaultSources: SignalSourceKind[] = gateway === 'paper' ? ['demo', 'inbox'] : ['inbox'];
  const sources = r.parse(
    'SIGNAL_SOURCES',
    csv(z.enum(SOURCES)).transform((list) => [...new Set(list)]),
    defaultSources,
    'a comma list of `inbox`, `demo`, `platform`',
  );

  const heartbeatIntervalMs = r.parse(
    'HEARTBEAT_INTERVAL_MS',
    int(10, 3_600_000),
    10_000,
    'an integer of milliseconds, 10 to 3600000',
  );
  const heartbeatStaleAfterMs = r.parse(
    'HEARTBEAT_STALE_AFTER_MS',
    int(10, 86_400_000),
    60_000,
    'an integer of milliseconds, 10 to 86400000',
  );
  // Checked with either one defaulted too: an interval at or above the default threshold would fail liveness forever.
  const heartbeatAlreadyBad = r.problems.some(
    (p) => p.variable === 'HEARTBEAT_INTERVAL_MS' || p.variable === 'HEARTBEAT_STALE_AFTER_MS',
  );
  if (heartbeatStaleAfterMs <= heartbeatIntervalMs && !heartbeatAlreadyBad) {
    if (r.raw('HEARTBEAT_STALE_AFTER_MS') !== undefined) {
      r.problems.push({
        variable: 'HEARTBEAT_STALE_AFTER_MS',
        expected: `more than HEARTBEAT_INTERVAL_MS (${heartbeatIntervalMs})`,
      });
    } else {
      r.problems.push({
        variable: 'HEARTBEAT_INTERVAL_MS',
        expected: `less than HEARTBEAT_STALE_AFTER_MS (${heartbeatStaleAfterMs})`,
      });
    }
  }

  const config: AppConfig = {
    port: r.parse('PORT', int(0, 65_535), 3000, 'a TCP port, 0 to 65535'),
    logLevel: r.parse('LOG_LEVEL', z.enum(LOG_LEVELS), 'info', `one of ${LOG_LEVELS.join(', ')}`),
    loopId: r.parse(
      'LOOP_ID',
      z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/),
      randomUUID(),
      '1-64 of [A-Za-z0-9._:-]',
    ),
    loopTickMs: r.parse('LOOP_TICK_MS', int(1, 60_000), 250, 'an integer of milliseconds, 1 to 60000'),
    heartbeatIntervalMs,
    heartbeatStaleAfterMs,
    stateDir: r.parse('STATE_DIR', z.string(), './var', 'a directory path'),
    closeOnShutdown: r.parse('CLOSE_ON_SHUTDOWN', bool, true, '`true` or `false`'),
    adminToken: r.optional('ADMIN_TOKEN', z.string().min(16), 'at least 16 characters'),
    debugFaults: r.parse('DEBUG_FAULTS', bool, false, '`true` or `false`'),
    risk: {
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
    },
    mt5: {
      gateway,
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
      magic: r.parse('MT5_MAGIC', int(0, 2_147_483_647), 19019, 'a non-negative integer'),
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
    signals: {
      sources,
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
    telegram: {
      botToken: r.optional(
        'TELEGRAM_BOT_TOKEN',
        z.string().regex(/^[0-9]+:[A-Za-z0-9_-]+$/),
        'a bot token like 123456:ABC-def',
      ),
      chatId: r.optional(
        'TELEGRAM_CHAT_ID',
        z.string().regex(/^(-?[0-9]+|@[A-Za-z0-9_]{5,})$/),
        'a numeric chat id or @channelname',
      ),
      apiRoot: r.parse('TELEGRAM_API_ROOT', httpUrl, 'https://api.telegram.org', 'an http(s) URL'),
      allowedUserIds: r.parse(
        'TELEGRAM_ALLOWED_USER_IDS',
        csv(z.string().regex(/^[0-9]+$/)).transform((list) => list.map(Number)),
        [],
        'a comma list of numeric user ids',
      ),
    },
    analytics: {
      webhookUrls: r.parse('ANALYTICS_WEBHOOK_URLS', csv(httpUrl), [], 'a comma list of http(s) URLs'),
    },
  };

  // Conditional requirements: what the chosen adapters need.
  if (gateway === 'http') {
    r.require('MT5_BRIDGE_URL', 'an http(s) URL', 'when MT5_GATEWAY=http');
    r.require('MT5_BRIDGE_KEY_ID', 'a key id', 'when MT5_GATEWAY=http');
    r.require('MT5_BRIDGE_SECRET', 'a secret', 'when MT5_GATEWAY=http');
    if (sources.includes('demo'))
      r.problems.push({
        variable: 'SIGNAL_SOURCES',
        expected: 'no `demo` source when MT5_GATEWAY=http (demo signals never trade a real account)',
      });
    if (config.signals.hmacSecret === undefined && sources.includes('inbox')) {
      r.require('SIGNALS_HMAC_SECRET', 'at least 16 characters', 'when MT5_GATEWAY=http and the inbox is on');
    }
  }
  if (sources.includes('platform')) {
    r.require('PLATFORM_API_URL', 'an http(s) URL', 'when SIGNAL_SOURCES has `platform`');
    r.require('PLATFORM_API_KEY_ID', 'a key id', 'when SIGNAL_SOURCES has `platform`');
    r.require('PLATFORM_API_SECRET', 'a secret', 'when SIGNAL_SOURCES has `platform`');
  }
  // service.md: alerts go to Telegram when both are set, otherwise only to the log. One of the
  // two alone is allowed, but almost certainly a mistake, so say so.
  const warnings: ConfigWarning[] = [];
  if ((config.telegram.botToken === undefined) !== (config.telegram.chatId === undefined)) {
    const missing = config.telegram.botToken === undefined ? 'TELEGRAM_BOT_TOKEN' : 'TELEGRAM_CHAT_ID';
    warnings.push({
      variable: missing,
      expected: 'set together with its partner; alerts go only to the log until both are set',
    });
  }
  return r.problems.length > 0 ? { ok: false, problems: r.problems } : { ok: true, config, warnings };
}

/** Names of variables whose values must never reach a log line. */
export const SECRET_VARIABLES = [
  'ADMIN_TOKEN',
  'MT5_BRIDGE_SECRET',
  'SIGNALS_HMAC_SECRET',
  'PLATFORM_API_SECRET',
  'TELEGRAM_BOT_TOKEN',
] as const;
