import type { Logger } from '@nestjs/common';
import type { CoreLogger } from '@app/core';

/**
 * The core's log port over a Nest logger (nestjs-pino turns `(fields, message)` into one pino
 * line). With `accountId`, every line carries `account_id` (docs/accounts.md).
 */
export function coreLoggerFor(logger: Logger, accountId?: string): CoreLogger {
  const tag =
    accountId === undefined
      ? (fields: object) => fields
      : (fields: object) => ({ account_id: accountId, ...fields });
  return {
    info: (fields, message) => logger.log(tag(fields), message),
    warn: (fields, message) => logger.warn(tag(fields), message),
    error: (fields, message) => logger.error(tag(fields), message),
  };
}
