import { instrumentSpec, type InstrumentSpec } from './instruments';
import { DEFAULT_WALK_OPTIONS, PriceWalk } from './price-walk';
import { T0 } from './paper-test-helpers';

const EURUSD = instrumentSpec('EURUSD');

function pathOf(walk: PriceWalk, times: number[]): number[] {
  return times.map((t) => {
    walk.advanceTo(t);
    return walk.quote().bid;
  });
}

describe('PriceWalk', () => {
  it('quotes the start price at the anchor, with the spread exactly between bid and ask', () => {
    const walk = new PriceWalk(EURUSD, 42);
    walk.advanceTo(T0);
    expect(walk.quote()).toEqual({ bid: 1.08495, ask: 1.08505 });
    const gold = new PriceWalk(instrumentSpec('XAUUSD'), 42);
    gold.advanceTo(T0);
    expect(gold.quote()).toEqual({ bid: 1999.85, ask: 2000.15 });
  });

  it('is deterministic for a seed and moves one step per second of the time passed in', () => {
    const times = Array.from({ length: 120 }, (_, i) => T0 + i * 1000);
    const a = pathOf(new PriceWalk(EURUSD, 42), times);
    expect(pathOf(new PriceWalk(EURUSD, 42), times)).toEqual(a);
    expect(pathOf(new PriceWalk(EURUSD, 7), times)).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(10); // it does move
  });

  it('gives the same price whether a gap is walked in one call or many', () => {
    const one = new PriceWalk(EURUSD, 42);
    one.advanceTo(T0);
    expect(one.advanceTo(T0 + 600_000)).toEqual({ stepped: 600, skipped: 0 });
    const many = new PriceWalk(EURUSD, 42);
    for (let t = T0; t <= T0 + 600_000; t += 250) many.advanceTo(t);
    expect(many.currentMid()).toBe(one.currentMid());
  });

  it('does not step within a step or when time goes backwards', () => {
    const walk = new PriceWalk(EURUSD, 42);
    walk.advanceTo(T0 + 5000);
    const mid = walk.currentMid();
    expect(walk.advanceTo(T0 + 5999)).toEqual({ stepped: 0, skipped: 0 });
    expect(walk.advanceTo(T0)).toEqual({ stepped: 0, skipped: 0 });
    expect(walk.currentMid()).toBe(mid);
    expect(walk.advanceTo(T0 + 6000)).toEqual({ stepped: 1, skipped: 0 });
  });

  it('caps catch-up after a long gap instead of walking every step', () => {
    const walk = new PriceWalk(EURUSD, 42);
    walk.advanceTo(T0);
    const tenDays = 10 * 86_400_000;
    const started = process.hrtime.bigint();
    expect(walk.advanceTo(T0 + tenDays)).toEqual({ stepped: 3600, skipped: 864_000 - 3600 });
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
    // The skipped steps are gone for good: the next second is one step.
    expect(walk.advanceTo(T0 + tenDays + 1000)).toEqual({ stepped: 1, skipped: 0 });
  });

  it('keeps prices positive with a volatility 500 times the default', () => {
    const wild: InstrumentSpec = { ...EURUSD, symbol: 'WILD', volatility: 0.01 };
    const walk = new PriceWalk(wild, 1, { stepMs: 1, maxCatchUpSteps: 100_000 });
    walk.advanceTo(0);
    for (let t = 1_000; t <= 100_000; t += 1_000) {
      walk.advanceTo(t);
      const { bid, ask } = walk.quote();
      expect(walk.currentMid()).toBeGreaterThan(0);
      expect(bid).toBeGreaterThan(0);
      expect(ask).toBeGreaterThan(bid);
    }
  });

  it('never quotes a bid below one point, even after a near-total crash', () => {
    const walk = new PriceWalk(EURUSD, 42);
    walk.advanceTo(T0);
    walk.shock(-99.9999);
    expect(walk.quote()).toEqual({ bid: 0.00001, ask: 0.00011 });
  });

  it('continues identically from a saved state', () => {
    const walk = new PriceWalk(EURUSD, 42);
    walk.advanceTo(T0);
    walk.advanceTo(T0 + 30_000);
    const copy = new PriceWalk(EURUSD, 999, DEFAULT_WALK_OPTIONS, JSON.parse(JSON.stringify(walk.state())));
    walk.advanceTo(T0 + 90_000);
    copy.advanceTo(T0 + 90_000);
    expect(copy.currentMid()).toBe(walk.currentMid());
  });

  it('walks a gap step by step (beginAdvance, stepOnce) to the same prices as in one go, and its state between steps continues exactly', () => {
    const options = { stepMs: 1000, maxCatchUpSteps: 50 };
    const bulk = new PriceWalk(EURUSD, 42, options);
    const stepwise = new PriceWalk(EURUSD, 42, options);
    for (const walk of [bulk, stepwise]) walk.advanceTo(T0);
    const end = T0 + 80_000; // 80 steps due, 50 walked, 30 jumped
    expect(bulk.advanceTo(end)).toEqual({ stepped: 50, skipped: 30 });
    expect(stepwise.beginAdvance(end)).toEqual({ stepped: 50, skipped: 30 });
    let halfway: PriceWalk | undefined;
    for (let i = 0; i < 50; i++) {
      stepwise.stepOnce();
      if (i === 19) halfway = new PriceWalk(EURUSD, 42, options, stepwise.state());
    }
    expect(stepwise.state()).toEqual(bulk.state());
    // Between steps the state reads as "at the step just taken", so a restart from it ends at the same price.
    expect(halfway!.lastStepTime()).toBe(end - 30_000);
    expect(halfway!.advanceTo(end)).toEqual({ stepped: 30, skipped: 0 });
    expect(halfway!.state()).toEqual(bulk.state());
  });

  it('hands out the same frozen quote until the mid moves', () => {
    const walk = new PriceWalk(EURUSD, 42);
    walk.advanceTo(T0);
    const first = walk.quote();
    expect(walk.quote()).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    walk.advanceTo(T0 + 5_000);
    expect(walk.quote()).not.toBe(first);
  });

  it('shocks the mid by a percentage and refuses a drop of 100 % or more', () => {
    const walk = new PriceWalk(EURUSD, 42);
    walk.advanceTo(T0);
    walk.shock(1);
    expect(walk.quote()).toEqual({ bid: 1.0958, ask: 1.0959 });
    expect(() => walk.shock(-100)).toThrow(RangeError);
    expect(() => walk.shock(Number.NaN)).toThrow(RangeError);
  });
});
