import type { HaltRecord } from './risk-state';
import { HOUR, observeOk, policyWith, roundTrip, SECOND, T0 } from './risk-test-helpers';

const manual: HaltRecord = {
  id: 'manual-1',
  reason: 'kill switch (by ops)',
  source: 'manual',
  at: T0,
  drawdownPercent: 3,
  capPercent: null,
};

describe('DrawdownPolicy: halt latch', () => {
  it('survives a JSON round trip into a policy built with a different (looser) cap', () => {
    const p = policyWith({ capPercent: 20, confirmReads: 1 });
    observeOk(p, 10_000, T0);
    observeOk(p, 7_500, T0 + SECOND);
    expect(p.isHalted()).toBe(true);
    const restarted = policyWith({ capPercent: 90 }, roundTrip(p.state()));
    expect(restarted.isHalted()).toBe(true);
    expect(restarted.halt()).toEqual(p.halt());
    expect(restarted.preTradeCheck(10_000, T0 + 2 * SECOND)).toEqual({ allowed: false, reason: 'halted' });
    expect(observeOk(restarted, 10_000, T0 + 3 * SECOND)).toMatchObject({ halted: true, drawdownPercent: 0 });
    expect(restarted.isHalted()).toBe(true);
  });

  it('latchHalt is idempotent: the first record is kept', () => {
    const p = policyWith();
    const s1 = p.latchHalt(manual);
    const s2 = p.latchHalt({ ...manual, id: 'manual-2', at: T0 + 1 });
    expect(s1.halt).toEqual(manual);
    expect(s2.halt).toEqual(manual);
    expect(p.halt()).toEqual(manual);
  });

  it('a trigger latches inside observe; a later latchHalt keeps the trigger record', () => {
    const p = policyWith({ confirmReads: 1 });
    observeOk(p, 10_000, T0);
    observeOk(p, 7_000, T0 + SECOND);
    const id = p.halt()?.id;
    expect(id).toBe(`drawdown_cap-${T0 + SECOND}`);
    p.latchHalt(manual);
    expect(p.halt()?.id).toBe(id);
  });

  it('a new day does not clear a halt (daily or total)', () => {
    const p = policyWith({ capPercent: 50, dailyLossCapPercent: 5, confirmReads: 1 });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 9_000, T0 + HOUR).trigger?.cap).toBe('daily');
    const nextDay = observeOk(p, 9_000, T0 + 24 * HOUR);
    expect(nextDay).toMatchObject({ halted: true, dailyDrawdownPercent: 0, trigger: null });
    expect(p.isHalted()).toBe(true);
    expect(p.preTradeCheck(9_000, T0 + 48 * HOUR)).toEqual({ allowed: false, reason: 'halted' });
  });

  it("resume re-baselines to the current equity: baseline, peak and today's anchor; streaks cleared", () => {
    const p = policyWith({ baselineMode: 'peak', dailyLossCapPercent: 5, confirmReads: 2 });
    observeOk(p, 10_000, T0);
    observeOk(p, 12_000, T0 + SECOND);
    p.latchHalt(manual);
    const now = T0 + 30 * HOUR;
    const r = p.resume(8_000, now, 'ops@desk', 'positions reviewed');
    expect(r).toEqual({
      ok: true,
      state: {
        baselineEquity: 8_000,
        baselineSetAt: now,
        peakEquity: 8_000,
        daily: { day: '2026-11-25', anchorEquity: 8_000 },
        halt: null,
      },
      resumedHalt: manual,
      baselineEquity: 8_000,
      reviewedBy: 'ops@desk',
      note: 'positions reviewed',
    });
    expect(p.isHalted()).toBe(false);
    expect(p.breachStreak).toBe(0);
    expect(p.preTradeCheck(8_000, now)).toEqual({ allowed: true });
    expect(observeOk(p, 7_000, now + SECOND)).toMatchObject({ drawdownPercent: 12.5, trigger: null });
  });

  it('resume clears an unconfirmed streak from before the halt', () => {
    const p = policyWith({ confirmReads: 2 });
    observeOk(p, 10_000, T0);
    observeOk(p, 7_000, T0 + SECOND); // streak 1
    p.latchHalt(manual);
    expect(p.resume(7_000, T0 + 2 * SECOND, 'ops', 'ok').ok).toBe(true);
    expect(observeOk(p, 5_000, T0 + 3 * SECOND)).toMatchObject({ breachStreak: 1, trigger: null });
  });

  it('resume is refused when not halted, without a reviewer, or without a usable equity', () => {
    const p = policyWith();
    expect(p.resume(10_000, T0, 'ops', 'x')).toMatchObject({ ok: false, code: 'not_halted' });
    p.latchHalt(manual);
    expect(p.resume(10_000, T0, '  ', 'x')).toMatchObject({ ok: false, code: 'reviewer_required' });
    expect(p.resume(Number.NaN, T0, 'ops', 'x')).toMatchObject({ ok: false, code: 'invalid_equity' });
    expect(p.resume(0, T0, 'ops', 'x')).toMatchObject({ ok: false, code: 'invalid_equity' });
    expect(p.isHalted()).toBe(true);
  });
});
