import { observeOk, policyWith, SECOND, T0 } from './risk-test-helpers';

describe('DrawdownPolicy: warnings, once per episode', () => {
  // cap 20, ratio 0.8: warn at 16%, re-arm below 14.4% (16 minus 10% of 16).
  const setup = () => {
    const p = policyWith({ capPercent: 20, warnRatio: 0.8, confirmReads: 2 });
    observeOk(p, 10_000, T0);
    let t = T0;
    return { p, read: (equity: number) => observeOk(p, equity, (t += SECOND)) };
  };

  it('warns on the first read at 80% of the cap, and not again in the same episode', () => {
    const { read } = setup();
    expect(read(8_500).warning).toBeNull(); // 15%
    expect(read(8_400).warning).toEqual({ cap: 'total', drawdownPercent: 16, capPercent: 20 });
    expect(read(8_300).warning).toBeNull();
    expect(read(8_450).warning).toBeNull(); // 15.5%: below 16 but within the hysteresis band
    expect(read(8_400).warning).toBeNull();
  });

  it('re-arms after drawdown falls below the hysteresis band, then warns again', () => {
    const { read } = setup();
    expect(read(8_400).warning).not.toBeNull();
    expect(read(8_600).warning).toBeNull(); // 14%: re-armed
    expect(read(8_300).warning).toEqual({ cap: 'total', drawdownPercent: 17, capPercent: 20 });
  });

  it('a single breaching read (unconfirmed) also warns, once', () => {
    const { read } = setup();
    expect(read(7_000).warning?.drawdownPercent).toBe(30);
    expect(read(9_000).warning).toBeNull();
  });

  it('no warning on the trigger read, none while halted, and re-armed by resume', () => {
    const p = policyWith({ confirmReads: 1 });
    observeOk(p, 10_000, T0);
    expect(observeOk(p, 7_000, T0 + SECOND)).toMatchObject({ warning: null, trigger: { cap: 'total' } });
    expect(observeOk(p, 9_000, T0 + 2 * SECOND).warning).toBeNull();
    expect(observeOk(p, 8_300, T0 + 3 * SECOND).warning).toBeNull();
    expect(p.resume(10_000, T0 + 4 * SECOND, 'ops', 'reviewed').ok).toBe(true);
    expect(observeOk(p, 8_300, T0 + 5 * SECOND).warning).toEqual({
      cap: 'total',
      drawdownPercent: 17,
      capPercent: 20,
    });
  });

  it('the daily cap has its own episode; both on one read are listed, total first', () => {
    const p = policyWith({ capPercent: 20, dailyLossCapPercent: 5, warnRatio: 0.8, confirmReads: 3 });
    observeOk(p, 10_000, T0);
    const first = observeOk(p, 9_550, T0 + SECOND); // daily 4.5% >= 4
    expect(first.warnings).toEqual([{ cap: 'daily', drawdownPercent: 4.5, capPercent: 5 }]);
    const both = observeOk(p, 8_400, T0 + 2 * SECOND);
    expect(both.warnings.map((w) => w.cap)).toEqual(['total']); // daily already warned
    expect(both.warning?.cap).toBe('total');
  });
});
