import { EquityReadTracker } from './equity-read-tracker';

describe('EquityReadTracker', () => {
  it('blocks after 3 failures in a row and signals the transition once', () => {
    const t = new EquityReadTracker(3);
    expect(t.failure()).toBe(false);
    expect(t.failure()).toBe(false);
    expect(t.blocked).toBe(false);
    expect(t.failure()).toBe(true);
    expect(t.blocked).toBe(true);
    expect(t.failure()).toBe(false); // still blocked, no second alert
    expect(t.consecutiveFailures).toBe(4);
  });

  it('a success in between resets the count; the first success after blocking signals once', () => {
    const t = new EquityReadTracker();
    t.failure();
    t.failure();
    expect(t.success()).toBe(false);
    expect(t.failure()).toBe(false);
    expect(t.blocked).toBe(false);
    t.failure();
    expect(t.failure()).toBe(true);
    expect(t.success()).toBe(true);
    expect(t.blocked).toBe(false);
    expect(t.success()).toBe(false);
    expect(t.consecutiveFailures).toBe(0);
  });

  it('reset forgets without signalling; a bad threshold is rejected', () => {
    const t = new EquityReadTracker(1);
    expect(t.failure()).toBe(true);
    t.reset();
    expect(t.blocked).toBe(false);
    expect(t.success()).toBe(false);
    expect(() => new EquityReadTracker(0)).toThrow(RangeError);
  });
});
