import { observeOk, policyWith, SECOND, T0 } from './risk-test-helpers';

describe('DrawdownPolicy: confirm reads', () => {
  it('one breach then a recovery read resets the streak: no trigger', () => {
    const p = policyWith({ confirmReads: 2 });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 7_000, T0 + SECOND)).toMatchObject({
      breach: { cap: 'total', drawdownPercent: 30 },
      trigger: null,
      breachStreak: 1,
    });
    expect(observeOk(p, 9_500, T0 + 2 * SECOND)).toMatchObject({ breach: null, breachStreak: 0 });
    expect(observeOk(p, 7_000, T0 + 3 * SECOND)).toMatchObject({ trigger: null, breachStreak: 1 });
    expect(p.isHalted()).toBe(false);
  });

  it('two consecutive breaching reads trigger with confirmReads=2, on the second', () => {
    const p = policyWith({ confirmReads: 2 });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 7_900, T0 + SECOND).trigger).toBeNull();
    expect(observeOk(p, 7_800, T0 + 2 * SECOND).trigger).toEqual({
      cap: 'total',
      drawdownPercent: 22,
      capPercent: 20,
    });
    expect(p.isHalted()).toBe(true);
  });

  it('confirmReads=1 triggers on the first breaching read', () => {
    const p = policyWith({ confirmReads: 1 });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 7_900, T0 + SECOND).trigger).not.toBeNull();
  });

  it('an invalid read between two breaches neither resets nor advances the streak', () => {
    const p = policyWith({ confirmReads: 2 });
    observeOk(p, 10_000, T0);
    observeOk(p, 7_000, T0 + SECOND);
    expect(p.observe(Number.NaN, T0 + 2 * SECOND).kind).toBe('invalid_read');
    expect(p.breachStreak).toBe(1);
    expect(observeOk(p, 7_000, T0 + 3 * SECOND).trigger).not.toBeNull();
  });

  it('never triggers again while halted, however many breaches follow', () => {
    const p = policyWith({ confirmReads: 1 });
    observeOk(p, 10_000, T0);
    const first = observeOk(p, 5_000, T0 + SECOND);
    expect(first.trigger).not.toBeNull();
    for (let i = 2; i < 6; i++) {
      expect(observeOk(p, 1_000, T0 + i * SECOND)).toMatchObject({
        trigger: null,
        halted: true,
        breachStreak: 0,
        breach: { cap: 'total' },
      });
    }
    expect(p.halt()?.at).toBe(T0 + SECOND);
  });

  it('the pre-trade check refuses on the first breaching read, before any confirmation', () => {
    const p = policyWith({ confirmReads: 3 });
    observeOk(p, 10_000, T0);
    expect(p.preTradeCheck(9_000, T0 + SECOND)).toEqual({ allowed: true });
    expect(p.preTradeCheck(8_000, T0 + SECOND)).toEqual({
      allowed: false,
      reason: 'drawdown_cap',
      drawdownPercent: 20,
    });
    expect(p.isHalted()).toBe(false);
  });

  it('the pre-trade check is read-only: it does not advance the streak nor move baselines', () => {
    const p = policyWith({ confirmReads: 2, baselineMode: 'peak' });
    observeOk(p, 10_000, T0);
    const before = p.state();
    for (let i = 0; i < 5; i++) p.preTradeCheck(7_000, T0 + SECOND);
    p.preTradeCheck(50_000, T0 + SECOND);
    expect(p.breachStreak).toBe(0);
    expect(p.state()).toEqual(before);
    expect(observeOk(p, 7_000, T0 + 2 * SECOND).trigger).toBeNull(); // first real breach
  });

  it('refuses while halted, whatever the equity', () => {
    const p = policyWith();
    observeOk(p, 10_000, T0);
    p.latchHalt({
      id: 'm',
      reason: 'kill switch',
      source: 'manual',
      at: T0,
      drawdownPercent: null,
      capPercent: null,
    });
    expect(p.preTradeCheck(20_000, T0 + SECOND)).toEqual({ allowed: false, reason: 'halted' });
  });

  it('before the first read, the pre-trade check allows any positive equity (it would be the baseline)', () => {
    expect(policyWith().preTradeCheck(10_000, T0)).toEqual({ allowed: true });
  });
});
