import { OrderRateLimiter } from './order-rate-limiter';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

describe('OrderRateLimiter', () => {
  it('grants maxPerSecond slots in one second and refuses the next', () => {
    const limiter = new OrderRateLimiter(3);
    expect([0, 0, 1, 2, 999].map((dt) => limiter.tryAcquire(T0 + dt))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('frees a slot exactly 1000 ms after it was taken (sliding window, not calendar seconds)', () => {
    const limiter = new OrderRateLimiter(2);
    expect(limiter.tryAcquire(T0 + 500)).toBe(true);
    expect(limiter.tryAcquire(T0 + 900)).toBe(true);
    expect(limiter.tryAcquire(T0 + 1499)).toBe(false); // a new calendar second, but the window still holds two
    expect(limiter.tryAcquire(T0 + 1500)).toBe(true); // the slot taken at +500 is free
    expect(limiter.tryAcquire(T0 + 1899)).toBe(false);
    expect(limiter.tryAcquire(T0 + 1900)).toBe(true);
  });

  it('does not count refused attempts against the limit', () => {
    const limiter = new OrderRateLimiter(1);
    expect(limiter.tryAcquire(T0)).toBe(true);
    for (let dt = 1; dt < 1000; dt += 37) expect(limiter.tryAcquire(T0 + dt)).toBe(false);
    expect(limiter.tryAcquire(T0 + 1000)).toBe(true);
  });

  it('never grants more than maxPerSecond in any one-second window over a long burst (ring wraps correctly)', () => {
    const max = 5;
    const limiter = new OrderRateLimiter(max);
    const granted: number[] = [];
    for (let t = 0; t < 10_000; t += 7) if (limiter.tryAcquire(T0 + t)) granted.push(t);
    for (let i = max; i < granted.length; i++)
      expect(granted[i] - granted[i - max]).toBeGreaterThanOrEqual(1000);
    // Busy callers get the full rate: 5 per second over 10 s, give or take the 7 ms sampling.
    expect(granted.length).toBeGreaterThanOrEqual(49);
    expect(granted.length).toBeLessThanOrEqual(50);
  });

  it('gives the full budget again after a quiet period', () => {
    const limiter = new OrderRateLimiter(50);
    for (let i = 0; i < 50; i++) expect(limiter.tryAcquire(T0)).toBe(true);
    expect(limiter.tryAcquire(T0 + 10)).toBe(false);
    for (let i = 0; i < 50; i++) expect(limiter.tryAcquire(T0 + 60_000)).toBe(true);
    expect(limiter.tryAcquire(T0 + 60_000)).toBe(false);
  });

  it.each([0, -1, 1.5, NaN])('refuses maxPerSecond %p', (max) => {
    expect(() => new OrderRateLimiter(max)).toThrow(RangeError);
  });
});
