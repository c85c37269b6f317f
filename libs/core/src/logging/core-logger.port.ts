/**
 * How the core writes a log line: pino's shape, `(fields, message)`. The Nest side hands in a
 * pino logger (or Nest's Logger, which nestjs-pino turns into one); tests hand in a recorder.
 */
export interface CoreLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const CORE_LOGGER = Symbol('CORE_LOGGER');

/** For tests and tools that do not care about log lines. */
export const silentLogger: CoreLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
