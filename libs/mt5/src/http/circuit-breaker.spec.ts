import { ManualClock } from '@app/core';
import { CircuitBreaker } from './circuit-breaker';

describe('CircuitBreaker', () => {
  const setup = () => {
    const clock = new ManualClock();
    return { clock, breaker: new CircuitBreaker(clock, { failureThreshold: 3, coolDownMs: 1_000 }) };
  };

  it('stays closed below the threshold and a success resets the count', () => {
    const { breaker } = setup();
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state()).toBe('closed');
    expect(breaker.canPass()).toBe(true);
  });

  it('opens after N consecutive failures and refuses calls and probes during the cool-down', () => {
    const { clock, breaker } = setup();
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    expect(breaker.state()).toBe('open');
    expect(breaker.canPass()).toBe(false);
    expect(breaker.tryAcquireProbe()).toBe(false);
    clock.advance(400);
    expect(breaker.retryInMs()).toBe(600);
  });

  it('lets exactly one probe through once the cool-down has elapsed; its success closes the circuit', () => {
    const { clock, breaker } = setup();
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    clock.advance(1_000);
    expect(breaker.state()).toBe('half_open');
    expect(breaker.canPass()).toBe(false);
    expect(breaker.tryAcquireProbe()).toBe(true);
    expect(breaker.tryAcquireProbe()).toBe(false);
    breaker.recordSuccess();
    expect(breaker.state()).toBe('closed');
    expect(breaker.failures).toBe(0);
  });

  it('a failed probe reopens the circuit for a fresh cool-down', () => {
    const { clock, breaker } = setup();
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    clock.advance(1_500);
    expect(breaker.tryAcquireProbe()).toBe(true);
    breaker.recordFailure();
    expect(breaker.state()).toBe('open');
    expect(breaker.retryInMs()).toBe(1_000);
    clock.advance(1_000);
    expect(breaker.tryAcquireProbe()).toBe(true);
  });

  it('refuses nonsense options', () => {
    const clock = new ManualClock();
    expect(() => new CircuitBreaker(clock, { failureThreshold: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker(clock, { coolDownMs: Number.NaN })).toThrow(RangeError);
  });
});
