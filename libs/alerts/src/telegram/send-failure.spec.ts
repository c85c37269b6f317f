import { retryDecision, type RetryPolicy } from './send-failure';

const policy: RetryPolicy = { baseDelayMs: 500, maxDelayMs: 30_000 };

describe('retryDecision', () => {
  it('waits exactly what a 429 asks for, whatever the attempt', () => {
    expect(
      retryDecision(
        { kind: 'api', code: 429, description: 'Too Many Requests', retryAfterSeconds: 2 },
        1,
        policy,
      ),
    ).toEqual({ retry: true, delayMs: 2000 });
    expect(
      retryDecision(
        { kind: 'api', code: 429, description: 'Too Many Requests', retryAfterSeconds: 7 },
        9,
        policy,
      ),
    ).toEqual({ retry: true, delayMs: 7000 });
  });

  it('backs off a 429 without retry_after like any transient failure', () => {
    expect(retryDecision({ kind: 'api', code: 429, description: 'Too Many Requests' }, 3, policy)).toEqual({
      retry: true,
      delayMs: 2000,
    });
  });

  it('backs off 5xx and network errors exponentially, capped', () => {
    expect(retryDecision({ kind: 'api', code: 502, description: 'Bad Gateway' }, 1, policy)).toEqual({
      retry: true,
      delayMs: 500,
    });
    expect(retryDecision({ kind: 'network', message: 'ECONNREFUSED' }, 2, policy)).toEqual({
      retry: true,
      delayMs: 1000,
    });
    expect(retryDecision({ kind: 'network', message: 'timeout' }, 50, policy)).toEqual({
      retry: true,
      delayMs: 30_000,
    });
  });

  it('gives up on a 4xx that repetition cannot fix', () => {
    const decision = retryDecision(
      { kind: 'api', code: 400, description: 'Bad Request: chat not found' },
      1,
      policy,
    );
    expect(decision.retry).toBe(false);
    expect(decision).toMatchObject({ reason: expect.stringContaining('chat not found') });
  });
});
