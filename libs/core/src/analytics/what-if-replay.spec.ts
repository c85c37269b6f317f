import { replayWhatIf, WhatIfReplay, type EquityPoint, type WhatIfInput } from './what-if-replay';

const T0 = Date.UTC(2026, 10, 24, 0, 0, 0);
const MIN = 60_000;
const at = (minutes: number): number => T0 + minutes * MIN;
const iso = (minutes: number): string => new Date(at(minutes)).toISOString();
/** One equity read a minute, from minute 0. */
const path = (...equities: number[]): EquityPoint[] => equities.map((equity, i) => ({ at: at(i), equity }));

const input = (overrides: Partial<WhatIfInput>): WhatIfInput => ({
  equity: [],
  signals: [],
  resumes: [],
  capsPercent: [10],
  baseline: 'start',
  window: { from: at(0), to: at(1_000) },
  ...overrides,
});

describe('replayWhatIf', () => {
  it('never crosses: 0 triggers, a null first trigger, no trades missed, the worst drawdown reported', () => {
    const result = replayWhatIf(
      input({ equity: path(10_000, 9_500, 9_200, 9_800), signals: [at(1), at(2)], capsPercent: [10] }),
    );
    expect(result.caps).toEqual([
      {
        cap_percent: 10,
        triggers: 0,
        first_trigger_at: null,
        trades_missed: 0,
        equity_at_first_trigger: null,
      },
    ]);
    expect(result.worst_drawdown_percent).toBe(8);
    expect(result.samples).toBe(4);
    expect(result.signals).toBe(2);
  });

  it('counts a cap crossed twice with a real resume between as 2 triggers, the first one reported', () => {
    // Start baseline 10,000; -10 % at minute 2; resumed at minute 3 to 9,000; -10 % of that (8,100) at minute 5.
    const result = replayWhatIf(
      input({
        equity: path(10_000, 9_500, 9_000, 9_000, 8_500, 8_100, 8_000),
        resumes: [{ at: at(3), baselineEquity: 9_000 }],
      }),
    );
    expect(result.caps[0]).toEqual({
      cap_percent: 10,
      triggers: 2,
      first_trigger_at: iso(2),
      trades_missed: 0,
      equity_at_first_trigger: 9_000,
    });
  });

  it('latches: a cap is triggered once until a real resume, however often the path crosses it', () => {
    const result = replayWhatIf(input({ equity: path(10_000, 8_500, 9_900, 8_000, 10_100, 8_000) }));
    expect(result.caps[0].triggers).toBe(1);
    expect(result.caps[0].first_trigger_at).toBe(iso(1));
  });

  it('treats drawdown equal to the cap as a trigger, as the real guard does, and just under it as none', () => {
    expect(replayWhatIf(input({ equity: path(10_000, 9_000) })).caps[0].triggers).toBe(1);
    expect(replayWhatIf(input({ equity: path(10_000, 9_000.01) })).caps[0].triggers).toBe(0);
  });

  it('peak baseline: measures from the running peak, so a rise then a fall triggers where start would not', () => {
    const equity = path(10_000, 11_000, 12_000, 11_000, 10_800, 10_500);
    const peak = replayWhatIf(input({ equity, baseline: 'peak', signals: [at(3), at(4.5), at(5)] }));
    // 12,000 -> 10,800 is exactly 10 %.
    expect(peak.caps[0]).toMatchObject({
      triggers: 1,
      first_trigger_at: iso(4),
      equity_at_first_trigger: 10_800,
    });
    expect(peak.caps[0].trades_missed).toBe(2);
    expect(peak.worst_drawdown_percent).toBe(12.5);
    const start = replayWhatIf(input({ equity, baseline: 'start', signals: [at(3), at(4.5), at(5)] }));
    expect(start.caps[0]).toMatchObject({ triggers: 0, trades_missed: 0 });
    expect(start.worst_drawdown_percent).toBe(0);
  });

  it('peak baseline: a real resume starts the peak over from the resume equity', () => {
    // Peak 12,000, resumed at 9,000: 8,200 is 8.9 % under the new baseline, not 31.7 % under the old peak.
    const result = replayWhatIf(
      input({
        equity: path(12_000, 10_500, 9_000, 8_200),
        baseline: 'peak',
        resumes: [{ at: at(2), baselineEquity: 9_000 }],
        capsPercent: [10, 20],
      }),
    );
    expect(result.caps.map((c) => c.triggers)).toEqual([1, 0]);
    expect(result.caps[0].first_trigger_at).toBe(iso(1));
    expect(result.worst_drawdown_percent).toBe(12.5);
  });

  it('counts trades missed only inside latches, whether or not they were really traded', () => {
    const result = replayWhatIf(
      input({
        equity: path(10_000, 9_000, 9_000, 9_000, 9_500),
        // before the trigger, at the triggering read, inside, at the resume, after it
        signals: [at(0.5), at(1), at(2), at(3), at(3.5)],
        resumes: [{ at: at(3), baselineEquity: 9_000 }],
      }),
    );
    expect(result.caps[0]).toMatchObject({ triggers: 1, trades_missed: 2 });
    expect(result.signals).toBe(5);
  });

  it('keeps a latch until the window ends when no resume comes', () => {
    const result = replayWhatIf(
      input({
        equity: path(10_000, 8_000, 10_000),
        signals: [at(1.5), at(2.5), at(999), at(1_000), at(1_001)],
      }),
    );
    // at(1_000) is the window's end (excluded), at(1_001) is outside.
    expect(result.caps[0]).toMatchObject({ triggers: 1, trades_missed: 3 });
    expect(result.signals).toBe(3);
  });

  it('answers several caps at once, each with its own latch, in the order asked', () => {
    const result = replayWhatIf(
      input({
        equity: path(10_000, 8_900, 8_400, 7_800, 7_400),
        signals: [at(1.5), at(2.5), at(3.5), at(4.5)],
        capsPercent: [25, 10, 15, 20, 30],
      }),
    );
    expect(result.caps).toEqual([
      {
        cap_percent: 25,
        triggers: 1,
        first_trigger_at: iso(4),
        trades_missed: 1,
        equity_at_first_trigger: 7_400,
      },
      {
        cap_percent: 10,
        triggers: 1,
        first_trigger_at: iso(1),
        trades_missed: 4,
        equity_at_first_trigger: 8_900,
      },
      {
        cap_percent: 15,
        triggers: 1,
        first_trigger_at: iso(2),
        trades_missed: 3,
        equity_at_first_trigger: 8_400,
      },
      {
        cap_percent: 20,
        triggers: 1,
        first_trigger_at: iso(3),
        trades_missed: 2,
        equity_at_first_trigger: 7_800,
      },
      {
        cap_percent: 30,
        triggers: 0,
        first_trigger_at: null,
        trades_missed: 0,
        equity_at_first_trigger: null,
      },
    ]);
    expect(result.worst_drawdown_percent).toBe(26);
  });

  it('with no sample in the window: nothing triggers, worst drawdown is null, signals still counted', () => {
    const result = replayWhatIf(input({ signals: [at(1)], resumes: [{ at: at(2) }], capsPercent: [10, 20] }));
    expect(result.worst_drawdown_percent).toBeNull();
    expect(result.samples).toBe(0);
    expect(result.signals).toBe(1);
    expect(
      result.caps.every((c) => c.triggers === 0 && c.trades_missed === 0 && c.first_trigger_at === null),
    ).toBe(true);
  });

  it('a resume with no latch only re-baselines (start mode takes the resume equity)', () => {
    // Without the resume 8,800 is 12 % under 10,000; after re-baselining to 9,500 it is 7.4 %.
    const equity = path(10_000, 9_500, 8_800);
    const resumed = replayWhatIf(input({ equity, resumes: [{ at: at(1), baselineEquity: 9_500 }] }));
    expect(resumed.caps[0].triggers).toBe(0);
    expect(resumed.worst_drawdown_percent).toBe(7.3684);
    expect(replayWhatIf(input({ equity })).caps[0].triggers).toBe(1);
  });

  it('a resume without a known equity re-baselines to the next read', () => {
    const result = replayWhatIf(
      input({ equity: path(10_000, 8_000, 7_500, 7_000), resumes: [{ at: at(1.5), baselineEquity: null }] }),
    );
    // 7,500 becomes the baseline; 7,000 is 6.7 % under it.
    expect(result.caps[0]).toMatchObject({ triggers: 1, first_trigger_at: iso(1) });
    expect(result.worst_drawdown_percent).toBe(20);
  });

  it('ignores reads and signals outside the window: the start baseline is the first read inside it', () => {
    const result = replayWhatIf(
      input({
        window: { from: at(1), to: at(3) },
        equity: path(20_000, 10_000, 9_000, 5_000),
        signals: [at(0), at(2), at(3)],
      }),
    );
    expect(result.samples).toBe(2);
    expect(result.caps[0]).toMatchObject({ triggers: 1, first_trigger_at: iso(2), trades_missed: 1 });
  });

  it('merges unsorted inputs by time, a resume before a read and a read before a signal at the same instant', () => {
    const result = replayWhatIf(
      input({
        equity: [
          { at: at(2), equity: 8_000 },
          { at: at(0), equity: 10_000 },
          { at: at(1), equity: 9_000 },
        ],
        signals: [at(2), at(1)],
        resumes: [{ at: at(2), baselineEquity: 9_000 }],
      }),
    );
    // minute 1: 10 % triggers and the signal at that instant is missed; minute 2: resumed to 9,000, then 8,000 is 11 %.
    expect(result.caps[0]).toMatchObject({ triggers: 2, first_trigger_at: iso(1), trades_missed: 2 });
  });

  it('takes equity at or below zero as a 100 % drawdown, even before any baseline', () => {
    const result = replayWhatIf(input({ equity: path(0, 10_000), capsPercent: [100] }));
    expect(result.caps[0]).toMatchObject({
      triggers: 1,
      first_trigger_at: iso(0),
      equity_at_first_trigger: 0,
    });
    expect(result.worst_drawdown_percent).toBe(100);
  });

  it('refuses caps outside 0 < x <= 100 and an empty window', () => {
    expect(() => replayWhatIf(input({ capsPercent: [0] }))).toThrow(RangeError);
    expect(() => replayWhatIf(input({ capsPercent: [100.5] }))).toThrow(RangeError);
    expect(() => replayWhatIf(input({ capsPercent: [Number.NaN] }))).toThrow(RangeError);
    expect(() => replayWhatIf(input({ window: { from: at(1), to: at(1) } }))).toThrow(RangeError);
  });
});

describe('WhatIfReplay (the same replay, fed one read at a time)', () => {
  it('ignores non-finite reads and times', () => {
    const replay = new WhatIfReplay({
      capsPercent: [10],
      baseline: 'start',
      window: { from: at(0), to: at(10) },
    });
    expect(replay.equity(at(0), 10_000)).toBe(true);
    expect(replay.equity(at(1), Number.NaN)).toBe(false);
    expect(replay.equity(Number.NaN, 1)).toBe(false);
    expect(replay.signal(Number.POSITIVE_INFINITY)).toBe(false);
    expect(replay.result()).toMatchObject({ samples: 1, signals: 0, worst_drawdown_percent: 0 });
  });
});
