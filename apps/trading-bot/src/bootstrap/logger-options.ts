import { RequestMethod } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import { stdTimeFunctions } from 'pino';
import type { AppConfig } from '@app/config';

/** Header and field paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-signature"]',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.secret',
  '*.token',
  '*.adminToken',
  '*.botToken',
  '*.hmacSecret',
  '*.bridgeSecret',
  '*.apiSecret',
];

/**
 * Routes without the per-request logger at all: probes and scrapes (frequent, uninteresting)
 * and the inbox, which logs its own outcome (signal_received, or signal_refused with the reason)
 * and is the hot path, where building a child logger per request cost ~15% of the CPU.
 */
const UNLOGGED_ROUTES = [
  { path: 'health', method: RequestMethod.GET },
  { path: 'health/*path', method: RequestMethod.GET },
  { path: 'metrics', method: RequestMethod.GET },
  { path: 'api/v1/signals', method: RequestMethod.POST },
];

/** pino JSON on stdout, one object per line; probes and scrapes are not logged per request. */
export function loggerOptions(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      timestamp: stdTimeFunctions.isoTime,
      base: { loop_id: config.loopId },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      customLogLevel: (_req, res, err) =>
        err !== undefined || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug',
      quietReqLogger: true,
    },
    exclude: UNLOGGED_ROUTES,
  };
}
