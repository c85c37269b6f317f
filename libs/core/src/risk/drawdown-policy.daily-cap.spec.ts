import { observeOk, policyWith, T0, HOUR, SECOND } from './risk-test-helpers';

const at = (iso: string): number => Date.parse(iso);

describe('DrawdownPolicy: daily loss cap', () => {
  it('measures against the first equity of the trading day and triggers on the daily cap', () => {
    const p = policyWith({ capPercent: 50, dailyLossCapPercent: 5, confirmReads: 1 });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 9_600, T0 + HOUR)).toMatchObject({ dailyDrawdownPercent: 4, breach: null });
    const o = observeOk(p, 9_500, T0 + 2 * HOUR);
    expect(o).toMatchObject({ dailyDrawdownPercent: 5, drawdownPercent: 5 });
    expect(o.trigger).toEqual({ cap: 'daily', drawdownPercent: 5, capPercent: 5 });
    expect(p.halt()).toMatchObject({ source: 'daily_cap', capPercent: 5 });
  });

  it('a new day re-anchors to its first equity (UTC by default)', () => {
    const p = policyWith({ capPercent: 50, dailyLossCapPercent: 5 });
    observeOk(p, 10_000, T0);
    observeOk(p, 9_600, Date.UTC(2026, 10, 24, 23, 59));
    const next = observeOk(p, 9_600, Date.UTC(2026, 10, 25, 0, 0));
    expect(next).toMatchObject({ dailyDrawdownPercent: 0, drawdownPercent: 4, stateChanged: true });
    expect(p.state().daily).toEqual({ day: '2026-11-25', anchorEquity: 9_600 });
    expect(observeOk(p, 9_200, Date.UTC(2026, 10, 25, 1)).dailyDrawdownPercent).toBeCloseTo(4.1667, 3);
  });

  it('Europe/Prague across the last Sunday of October 2026: the day changes at local midnight (23:00Z after the switch)', () => {
    const p = policyWith({ capPercent: 90, dailyLossCapPercent: 5, dailyResetTimezone: 'Europe/Prague' });
    observeOk(p, 10_000, at('2026-10-24T21:00:00Z')); // 23:00 CEST on the 24th
    expect(observeOk(p, 9_800, at('2026-10-24T22:00:00Z')).dailyDrawdownPercent).toBe(0); // 00:00 CEST: new day
    expect(p.state().daily).toEqual({ day: '2026-10-25', anchorEquity: 9_800 });
    // 25 hours later in UTC terms the day is still the 25th until 23:00Z.
    expect(observeOk(p, 9_604, at('2026-10-25T22:59:59Z')).dailyDrawdownPercent).toBe(2);
    expect(p.state().daily?.day).toBe('2026-10-25');
    expect(observeOk(p, 9_604, at('2026-10-25T23:00:00Z')).dailyDrawdownPercent).toBe(0);
    expect(p.state().daily).toEqual({ day: '2026-10-26', anchorEquity: 9_604 });
  });

  it('America/New_York across the March 2026 DST start: midnight is 05:00Z before and 04:00Z after', () => {
    const p = policyWith({ capPercent: 90, dailyLossCapPercent: 5, dailyResetTimezone: 'America/New_York' });
    observeOk(p, 10_000, at('2026-03-08T04:59:00Z')); // 23:59 EST on the 7th
    expect(p.state().daily?.day).toBe('2026-03-07');
    observeOk(p, 9_900, at('2026-03-08T05:00:00Z'));
    expect(p.state().daily).toEqual({ day: '2026-03-08', anchorEquity: 9_900 });
    observeOk(p, 9_500, at('2026-03-09T03:59:00Z')); // 23:59 EDT on the 8th
    expect(p.state().daily?.day).toBe('2026-03-08');
    expect(observeOk(p, 9_500, at('2026-03-09T04:00:00Z')).dailyDrawdownPercent).toBe(0);
    expect(p.state().daily).toEqual({ day: '2026-03-09', anchorEquity: 9_500 });
  });

  it('the pre-trade check refuses on a daily breach, and treats a new day as a fresh anchor', () => {
    const p = policyWith({ capPercent: 50, dailyLossCapPercent: 5, confirmReads: 2 });
    observeOk(p, 10_000, T0);
    expect(p.preTradeCheck(9_400, T0 + SECOND)).toEqual({
      allowed: false,
      reason: 'daily_cap',
      drawdownPercent: 6,
    });
    expect(p.preTradeCheck(9_400, T0 + 24 * HOUR)).toEqual({ allowed: true });
  });

  it('a first read <= 0 of a new day does not become the anchor', () => {
    const p = policyWith({ capPercent: 100, dailyLossCapPercent: 5, confirmReads: 5 });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 0, T0 + 24 * HOUR).dailyDrawdownPercent).toBe(100);
    expect(p.state().daily?.day).toBe('2026-11-24');
    observeOk(p, 9_000, T0 + 25 * HOUR);
    expect(p.state().daily).toEqual({ day: '2026-11-25', anchorEquity: 9_000 });
  });

  it('without a daily cap the anchor is still reported, but never breaches', () => {
    const p = policyWith({ capPercent: 50 });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 8_000, T0 + SECOND)).toMatchObject({ dailyDrawdownPercent: 20, breach: null });
  });
});
