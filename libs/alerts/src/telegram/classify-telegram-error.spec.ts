import { TelegramError } from 'telegraf';
import { classifyTelegramError } from './classify-telegram-error';

describe('classifyTelegramError', () => {
  it('reads code, description and retry_after from a Bot API error', () => {
    const error = new TelegramError({
      error_code: 429,
      description: 'Too Many Requests: retry after 2',
      parameters: { retry_after: 2 },
    });
    expect(classifyTelegramError(error)).toEqual({
      kind: 'api',
      code: 429,
      description: 'Too Many Requests: retry after 2',
      retryAfterSeconds: 2,
    });
  });

  it('treats anything without an API answer (reset, refused, timeout) as a network failure', () => {
    const abort = new Error('The operation was aborted');
    abort.name = 'AbortError';
    expect(classifyTelegramError(abort)).toEqual({
      kind: 'network',
      message: 'AbortError: The operation was aborted',
    });
  });
});
