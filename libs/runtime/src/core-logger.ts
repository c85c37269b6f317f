import type { Logger } from '@nestjs/common';
import type { CoreLogger } from '@app/core';

/** The core's log port over a Nest logger (nestjs-pino turns `(fields, message)` into one pino line). */
export function coreLoggerFor(logger: Logger): CoreLogger {
  return {
    info: (fields, message) => logger.log(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
    error: (fields, message) => logger.error(fields, message),
  };
}
