import { DrawdownPolicy } from './drawdown-policy';
import { emptyRiskState } from './risk-state';
import { DEFAULT_OPTIONS, observeOk, policyWith, SECOND, T0 } from './risk-test-helpers';

describe('DrawdownPolicy: seed examples', () => {
  it('baseline 10,000 and equity 8,000 is a 20.0% drawdown, which reaches cap 20', () => {
    const p = policyWith({ capPercent: 20, confirmReads: 1 });
    expect(observeOk(p, 10_000, T0)).toMatchObject({
      drawdownPercent: 0,
      baselineEquity: 10_000,
      trigger: null,
      stateChanged: true,
    });
    const o = observeOk(p, 8_000, T0 + SECOND);
    expect(o.drawdownPercent).toBe(20);
    expect(o.trigger).toEqual({ cap: 'total', drawdownPercent: 20, capPercent: 20 });
  });

  it('cap 20 and a 25% drawdown triggers, latching the halt with the numbers', () => {
    const p = policyWith({ capPercent: 20, confirmReads: 2 });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 7_500, T0 + SECOND).trigger).toBeNull();
    const o = observeOk(p, 7_500, T0 + 2 * SECOND);
    expect(o.trigger).toEqual({ cap: 'total', drawdownPercent: 25, capPercent: 20 });
    expect(o.stateChanged).toBe(true);
    expect(p.isHalted()).toBe(true);
    expect(p.halt()).toMatchObject({
      source: 'drawdown_cap',
      drawdownPercent: 25,
      capPercent: 20,
      at: T0 + 2 * SECOND,
      reason: 'total drawdown 25.0% >= cap 20%',
    });
    expect(p.state().halt).toEqual(p.halt());
  });

  it('19.99% stays below cap 20', () => {
    const p = policyWith({ capPercent: 20 });
    observeOk(p, 10_000, T0);
    const o = observeOk(p, 8_001, T0 + SECOND);
    expect(o.drawdownPercent).toBeCloseTo(19.99, 10);
    expect(o.breach).toBeNull();
    expect(p.isHalted()).toBe(false);
  });
});

describe('DrawdownPolicy: edges', () => {
  it('zero and negative equity are 100% drawdown', () => {
    const p = policyWith({ capPercent: 100, confirmReads: 3 });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 0, T0 + SECOND).drawdownPercent).toBe(100);
    expect(observeOk(p, -2_500, T0 + 2 * SECOND).drawdownPercent).toBe(100);
  });

  it('a first read at or below zero does not become the baseline (it would be 0) but is still a 100% breach', () => {
    const p = policyWith({ confirmReads: 1 });
    const o = observeOk(p, 0, T0);
    expect(o).toMatchObject({ drawdownPercent: 100, baselineEquity: null, dailyDrawdownPercent: 100 });
    expect(o.trigger?.cap).toBe('total');
    expect(p.state().baselineEquity).toBeNull();
    expect(policyWith().preTradeCheck(-1, T0)).toEqual({
      allowed: false,
      reason: 'drawdown_cap',
      drawdownPercent: 100,
    });
  });

  it('a baseline of 0 cannot be restored; a bad option is rejected at construction', () => {
    expect(() => policyWith({}, { ...emptyRiskState(), baselineEquity: 0, baselineSetAt: T0 })).toThrow(
      RangeError,
    );
    expect(() => policyWith({ capPercent: 0 })).toThrow(RangeError);
    expect(() => policyWith({ capPercent: 101 })).toThrow(RangeError);
    expect(() => policyWith({ confirmReads: 0 })).toThrow(RangeError);
    expect(() => policyWith({ warnRatio: 0 })).toThrow(RangeError);
    expect(() => policyWith({ dailyLossCapPercent: -5 })).toThrow(RangeError);
    expect(() => policyWith({ dailyResetTimezone: 'Nowhere/Special' })).toThrow(RangeError);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, undefined, null, '9000'])(
    'a read of %p is invalid, not a drawdown, and changes nothing',
    (bad) => {
      const p = policyWith({ confirmReads: 2 });
      observeOk(p, 10_000, T0);
      observeOk(p, 7_000, T0 + SECOND); // streak 1
      const before = p.state();
      expect(p.observe(bad as number, T0 + 2 * SECOND)).toEqual({ kind: 'invalid_read', equity: bad });
      expect(p.state()).toEqual(before);
      expect(p.breachStreak).toBe(1);
      expect(p.isHalted()).toBe(false);
      expect(p.preTradeCheck(bad as number, T0 + 2 * SECOND)).toEqual({
        allowed: false,
        reason: 'invalid_equity',
      });
    },
  );

  it('a NaN read as the very first read sets no baseline', () => {
    const p = policyWith();
    expect(p.observe(Number.NaN, T0).kind).toBe('invalid_read');
    expect(p.state()).toEqual(emptyRiskState());
  });

  it('peak mode: equity above the peak raises the baseline', () => {
    const p = policyWith({ baselineMode: 'peak' });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 12_000, T0 + SECOND)).toMatchObject({
      baselineEquity: 12_000,
      drawdownPercent: 0,
      stateChanged: true,
    });
    expect(observeOk(p, 11_000, T0 + 2 * SECOND)).toMatchObject({
      baselineEquity: 12_000,
      stateChanged: false,
    });
    expect(observeOk(p, 9_600, T0 + 3 * SECOND).drawdownPercent).toBe(20);
    expect(p.state()).toMatchObject({ baselineEquity: 12_000, peakEquity: 12_000, baselineSetAt: T0 });
  });

  it('start mode: equity above the start does not raise the baseline (the peak is still recorded)', () => {
    const p = policyWith({ baselineMode: 'start' });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 12_000, T0 + SECOND)).toMatchObject({ baselineEquity: 10_000, drawdownPercent: 0 });
    expect(observeOk(p, 9_600, T0 + 2 * SECOND).drawdownPercent).toBe(4);
    expect(p.state()).toMatchObject({ baselineEquity: 10_000, peakEquity: 12_000 });
  });

  it('peak mode: the peak is frozen while halted', () => {
    const p = policyWith({ baselineMode: 'peak' });
    observeOk(p, 10_000, T0);
    p.latchHalt({
      id: 'm1',
      reason: 'test',
      source: 'manual',
      at: T0,
      drawdownPercent: null,
      capPercent: null,
    });
    expect(observeOk(p, 15_000, T0 + SECOND)).toMatchObject({ baselineEquity: 10_000, halted: true });
    expect(p.state().peakEquity).toBe(10_000);
  });

  it('restarting in peak mode after start mode takes the recorded peak as baseline and asks to persist it', () => {
    const state = { ...emptyRiskState(), baselineEquity: 10_000, baselineSetAt: T0, peakEquity: 12_500 };
    const p = new DrawdownPolicy({ ...DEFAULT_OPTIONS, baselineMode: 'peak' }, state);
    expect(p.state().baselineEquity).toBe(12_500);
    expect(observeOk(p, 10_000, T0 + SECOND)).toMatchObject({ drawdownPercent: 20, stateChanged: true });
  });

  it('a baseline persisted across a restart is kept (start mode does not re-baseline on restart)', () => {
    const p = policyWith();
    observeOk(p, 10_000, T0);
    const restarted = policyWith({}, JSON.parse(JSON.stringify(p.state())));
    expect(observeOk(restarted, 9_000, T0 + SECOND)).toMatchObject({
      baselineEquity: 10_000,
      drawdownPercent: 10,
      stateChanged: false,
    });
  });

  it('state() is a copy: mutating it does not change the policy', () => {
    const p = policyWith();
    observeOk(p, 10_000, T0);
    const s = p.state();
    s.baselineEquity = 1;
    s.daily!.anchorEquity = 1;
    expect(p.state()).toMatchObject({ baselineEquity: 10_000, daily: { anchorEquity: 10_000 } });
  });

  it('has no way to change the cap after construction', () => {
    const p = policyWith({ capPercent: 20 });
    expect(p.capPercent).toBe(20);
    expect(() => {
      (p as unknown as { capPercent: number }).capPercent = 50;
    }).toThrow(TypeError);
    expect(p.capPercent).toBe(20);
  });
});
