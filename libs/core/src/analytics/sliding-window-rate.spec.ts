import { ManualClock } from '../time/clock';
import { SlidingWindowCounter } from './sliding-window-rate';

describe('SlidingWindowCounter with a manual clock', () => {
  const start = Date.UTC(2026, 10, 24, 10, 0, 0);

  it('counts events of the last minute and forgets them a minute later', () => {
    const clock = new ManualClock(start);
    const counter = new SlidingWindowCounter();
    for (let i = 0; i < 6; i += 1) {
      if (i > 0) clock.advance(10_000); // six signals a minute (t = 0, 10 ... 50 s), like the demo generator
      counter.add(clock.now());
    }
    clock.advance(9_999); // t = 59.999 s: all six within the last minute
    expect(counter.total(clock.now())).toBe(6);
    expect(counter.ratePerMinute(clock.now())).toBe(6);
    clock.advance(1); // t = 60 s: the one from t = 0 has left
    expect(counter.total(clock.now())).toBe(5);
    clock.advance(15_000); // t = 75 s: t = 10 s has left too
    expect(counter.total(clock.now())).toBe(4);
    clock.advance(60_000);
    expect(counter.ratePerMinute(clock.now())).toBe(0);
  });

  it('keeps an event for exactly 60 one-second buckets', () => {
    const counter = new SlidingWindowCounter();
    counter.add(start + 999, 1);
    expect(counter.total(start + 59_999)).toBe(1);
    expect(counter.total(start + 60_000)).toBe(0);
  });

  it('adds n events at once and refuses invalid input without changing the count', () => {
    const counter = new SlidingWindowCounter();
    expect(counter.add(start, 5)).toBe(true);
    expect(counter.add(start, -1)).toBe(false);
    expect(counter.add(start, Number.NaN)).toBe(false);
    expect(counter.add(Number.NaN)).toBe(false);
    expect(counter.total(start)).toBe(5);
    expect(() => counter.total(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('clears everything when time jumps forward far beyond the window, and counts afresh', () => {
    const clock = new ManualClock(start);
    const counter = new SlidingWindowCounter();
    for (let i = 0; i < 60; i += 1) {
      counter.add(clock.now(), 2);
      clock.advance(1_000);
    }
    expect(counter.total(clock.now() - 1)).toBe(120);
    clock.advance(7 * 24 * 3_600_000 + 123); // a week asleep: every slot is from an earlier lap
    expect(counter.total(clock.now())).toBe(0);
    counter.add(clock.now());
    clock.advance(1_000);
    counter.add(clock.now());
    expect(counter.total(clock.now())).toBe(2);
  });

  it('after a jump forward of exactly one lap, does not mistake old slots for new ones', () => {
    const counter = new SlidingWindowCounter();
    counter.add(start, 3);
    counter.add(start + 60_000, 1); // same ring slot, next lap
    expect(counter.total(start + 60_000)).toBe(1);
  });

  it('treats a small step back as no time passing: nothing lost, nothing double-counted', () => {
    const counter = new SlidingWindowCounter();
    counter.add(start + 30_000, 1);
    counter.add(start + 25_000, 1); // clock slewed back 5 s
    expect(counter.total(start + 20_000)).toBe(2);
    expect(counter.total(start + 30_000)).toBe(2);
    // Both count from t=30 s, the latest time seen, so both leave the window together.
    expect(counter.total(start + 89_999)).toBe(2);
    expect(counter.total(start + 90_000)).toBe(0);
  });

  it('starts over when the clock is set back by a whole window or more, instead of freezing', () => {
    const counter = new SlidingWindowCounter();
    counter.add(start + 3_600_000, 4);
    expect(counter.total(start)).toBe(0); // an hour back: the "future" events are dropped
    counter.add(start + 1_000);
    expect(counter.total(start + 1_000)).toBe(1);
  });

  it('scales other windows to a per-minute rate', () => {
    const counter = new SlidingWindowCounter({ windowMs: 10_000, bucketMs: 500 });
    counter.add(start, 3);
    expect(counter.total(start + 9_999)).toBe(3);
    expect(counter.ratePerMinute(start + 9_999)).toBe(18);
    expect(counter.total(start + 10_000)).toBe(0);
  });

  it('refuses a window that is not a whole number of buckets', () => {
    expect(() => new SlidingWindowCounter({ windowMs: 1_500, bucketMs: 1_000 })).toThrow(RangeError);
    expect(() => new SlidingWindowCounter({ bucketMs: 0 })).toThrow(RangeError);
  });

  it('handles times before the epoch (negative bucket numbers)', () => {
    const counter = new SlidingWindowCounter();
    counter.add(-5_500, 2); // bucket [-6 s, -5 s)
    expect(counter.total(-5_000)).toBe(2);
    expect(counter.total(53_999)).toBe(2);
    expect(counter.total(54_000)).toBe(0);
  });
});
