import { backoffDelay } from './backoff';

const policy = (random: number, baseDelayMs = 100, maxDelayMs = 2000) => ({
  baseDelayMs,
  maxDelayMs,
  random: () => random,
});

describe('backoffDelay', () => {
  it('doubles the step per retry: half the step with no jitter, almost the full step with the most', () => {
    expect([0, 1, 2, 3].map((retry) => backoffDelay(policy(0), retry))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((retry) => backoffDelay(policy(0.999), retry))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(policy(0.5), 2)).toBe(300);
  });

  it('never exceeds maxDelayMs, however many retries', () => {
    for (const retry of [5, 10, 30, 60, 1000]) {
      expect(backoffDelay(policy(0.999_999), retry)).toBe(2000);
      expect(backoffDelay(policy(0), retry)).toBe(1000);
    }
  });

  it('stays within [step/2, step] for any jitter and is never zero', () => {
    for (let retry = 0; retry < 8; retry++) {
      const step = Math.min(2000, 100 * 2 ** retry);
      for (let i = 0; i < 100; i++) {
        const delay = backoffDelay(policy(i / 100), retry);
        expect(delay).toBeGreaterThanOrEqual(step / 2);
        expect(delay).toBeLessThanOrEqual(step);
        expect(delay).toBeGreaterThan(0);
      }
    }
    expect(backoffDelay(policy(0, 1, 1), 0)).toBe(1);
  });
});

describe('backoffDelay jitter modes', () => {
  const base = { baseDelayMs: 100, maxDelayMs: 1000 };
  it('none: the step itself', () => {
    expect([0, 1, 2, 3, 4, 9].map((r) => backoffDelay({ ...base, jitter: 'none' }, r))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });
  it('full: between 1 ms and the step', () => {
    expect(backoffDelay({ ...base, jitter: 'full', random: () => 0 }, 3)).toBe(1);
    expect(backoffDelay({ ...base, jitter: 'full', random: () => 0.5 }, 3)).toBe(400);
  });
  it('refuses a negative or fractional retry: a caller off by one', () => {
    expect(() => backoffDelay(base, -1)).toThrow(RangeError);
    expect(() => backoffDelay(base, 0.5)).toThrow(RangeError);
  });
});
