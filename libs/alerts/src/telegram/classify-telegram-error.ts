import { TelegramError } from 'telegraf';
import type { SendFailure } from './send-failure';

/** telegraf's errors at the boundary: a TelegramError carries the API answer; anything else never got one. */
export function classifyTelegramError(error: unknown): SendFailure {
  if (error instanceof TelegramError) {
    const retryAfter = error.parameters?.retry_after;
    return {
      kind: 'api',
      code: error.code,
      description: error.description,
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { kind: 'network', message };
}
