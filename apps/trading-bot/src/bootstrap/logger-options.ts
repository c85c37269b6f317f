import type { IncomingMessage } from 'node:http';
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

const QUIET_PATHS = ['/health', '/health/live', '/health/ready', '/metrics'];
/** The inbox logs its own outcome (signal_received, or a refusal line with the reason): no request line too. */
const SELF_LOGGING_PATHS = ['/api/v1/signals'];

/** pino JSON on stdout, one object per line; probes and scrapes are not logged per request. */
export function loggerOptions(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      timestamp: stdTimeFunctions.isoTime,
      base: { loop_id: config.loopId },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      autoLogging: {
        ignore: (req: IncomingMessage) => {
          const path = (req.url ?? '').split('?')[0];
          return QUIET_PATHS.includes(path) || (req.method === 'POST' && SELF_LOGGING_PATHS.includes(path));
        },
      },
      customLogLevel: (_req, res, err) =>
        err !== undefined || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug',
      quietReqLogger: true,
    },
  };
}
