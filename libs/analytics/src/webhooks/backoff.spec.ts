import { backoffDelayMs, classifyDelivery, DEFAULT_WEBHOOK_BACKOFF } from './backoff';

describe('webhook backoff', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 4_000 };

  it('doubles the cap each retry up to maxDelayMs (random just below 1 gives the cap)', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(retry, policy, top))).toEqual([
      499, 999, 1_999, 3_999, 3_999, 3_999,
    ]);
  });

  it('is jittered uniformly under the cap, and never 0', () => {
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(1_000);
    expect(backoffDelayMs(3, policy, () => 0)).toBe(1);
  });

  it('does not overflow for absurd retry numbers', () => {
    expect(backoffDelayMs(10_000, DEFAULT_WEBHOOK_BACKOFF, () => 0.999999)).toBeLessThanOrEqual(
      DEFAULT_WEBHOOK_BACKOFF.maxDelayMs,
    );
    expect(() => backoffDelayMs(0, policy, Math.random)).toThrow(RangeError);
  });

  it('retries network errors, 408, 429 and 5xx; gives up on other 4xx', () => {
    expect(classifyDelivery({ kind: 'status', status: 200 })).toBe('delivered');
    expect(classifyDelivery({ kind: 'status', status: 204 })).toBe('delivered');
    expect(classifyDelivery({ kind: 'network_error', error: 'ECONNREFUSED' })).toBe('retry');
    expect(classifyDelivery({ kind: 'status', status: 503 })).toBe('retry');
    expect(classifyDelivery({ kind: 'status', status: 429 })).toBe('retry');
    expect(classifyDelivery({ kind: 'status', status: 408 })).toBe('retry');
    expect(classifyDelivery({ kind: 'status', status: 401 })).toBe('permanent');
    expect(classifyDelivery({ kind: 'status', status: 404 })).toBe('permanent');
    expect(classifyDelivery({ kind: 'status', status: 302 })).toBe('permanent');
  });
});
