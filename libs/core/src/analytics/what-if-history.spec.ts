import type { TradingEvent, TradingEventMap, TradingEventType } from '../events/trading-events';
import { WhatIfHistoryFold } from './what-if-history';
import { replayWhatIf } from './what-if-replay';

const T0 = Date.UTC(2026, 10, 24, 0, 0, 0);
const MIN = 60_000;
const at = (minutes: number): number => T0 + minutes * MIN;
const window = { from: at(0), to: at(100) };

const ev = <K extends TradingEventType>(type: K, time: number, payload: TradingEventMap[K]): TradingEvent =>
  ({ type, at: time, account_id: 'acc-1', payload }) as TradingEvent;
const sample = (minute: number, equity: number): TradingEvent =>
  ev('equity_sample', at(minute), { equity, baseline_equity: 10_000, drawdown_percent: 0 });
const received = (minute: number, id: string): TradingEvent =>
  ev('signal_received', at(minute), {
    signal_id: id,
    instrument: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    source: 'test',
    created_at: new Date(at(minute)).toISOString(),
  });
const rejected = (minute: number, id: string, reason: string): TradingEvent =>
  ev('signal_rejected', at(minute), { signal_id: id, reason });
const resumed = (minute: number, baseline: number | null): TradingEvent =>
  ev('resumed', at(minute), { halt_id: 'h', reviewed_by: 'ops', note: 'ok', baseline_equity: baseline });
const halted = (minute: number, source: string): TradingEvent =>
  ev('halted', at(minute), { halt_id: `h-${minute}`, reason: 'test', source, drawdown_percent: null });
const capTriggered = (minute: number, cap: 'total' | 'daily' | 'manual' | 'untrusted_state'): TradingEvent =>
  ev('drawdown_cap_triggered', at(minute), {
    halt_id: `h-${minute}`,
    reason: 'test',
    cap,
    drawdown_percent: 10,
    cap_percent: 10,
    equity: 9_000,
    baseline_equity: 10_000,
    positions_closed: 0,
    positions_failed: 0,
    message: 'test',
  });

const run = (events: TradingEvent[], caps = [10, 20]): ReturnType<WhatIfHistoryFold['result']> => {
  const fold = new WhatIfHistoryFold({ capsPercent: caps, baseline: 'start', window });
  for (const e of events) fold.add(e);
  return fold.result();
};

describe('WhatIfHistoryFold', () => {
  it('counts the real figures: cap triggers (total and daily), manual halts, signals refused as halted', () => {
    const result = run([
      halted(1, 'drawdown_cap'),
      capTriggered(1, 'total'),
      resumed(2, 10_000),
      halted(3, 'daily_cap'),
      capTriggered(3, 'daily'),
      resumed(4, 10_000),
      halted(5, 'manual'),
      capTriggered(5, 'manual'),
      rejected(6, 'a', 'halted'),
      rejected(6, 'b', 'halted'),
      rejected(6, 'c', 'rejected by ops'),
      resumed(7, 10_000),
      halted(8, 'untrusted_state'),
      capTriggered(8, 'untrusted_state'),
    ]);
    expect(result).toMatchObject({ real_triggers: 2, manual_halts: 1, trades_missed_due_to_halt: 2 });
  });

  it('takes as arrivals signal_received and halted refusals of signals never received, each once', () => {
    const result = run([
      received(1, 'a'), // arrives, then refused at execution after a halt: one arrival
      rejected(2, 'a', 'halted'),
      rejected(3, 'b', 'halted'), // arrived while halted: an arrival
      received(4, 'c'), // refused by a person: one arrival
      rejected(5, 'c', 'rejected by ops'),
      rejected(6, 'd', 'rejected by ops'), // received before the window: not an arrival here
    ]);
    expect(result.signals).toBe(3);
    expect(result.trades_missed_due_to_halt).toBe(2);
  });

  it('replays the equity samples, arrivals and resumes (at their recorded equity) like replayWhatIf', () => {
    const events = [
      sample(0, 10_000),
      received(1, 'a'),
      sample(2, 8_900), // 11 %: cap 10 triggers
      received(3, 'b'), // missed by cap 10
      sample(4, 7_900), // 21 %: cap 20 triggers
      rejected(5, 'c', 'halted'), // missed by both
      resumed(6, 8_000),
      sample(7, 8_000),
      received(8, 'd'),
      sample(9, 7_100), // 11.25 % under 8,000: cap 10 again
      received(10, 'e'), // missed by cap 10
    ];
    const result = run(events);
    const expected = replayWhatIf({
      capsPercent: [10, 20],
      baseline: 'start',
      window,
      equity: [
        { at: at(0), equity: 10_000 },
        { at: at(2), equity: 8_900 },
        { at: at(4), equity: 7_900 },
        { at: at(7), equity: 8_000 },
        { at: at(9), equity: 7_100 },
      ],
      signals: [at(1), at(3), at(5), at(8), at(10)],
      resumes: [{ at: at(6), baselineEquity: 8_000 }],
    });
    expect(result).toMatchObject(expected);
    expect(result.caps).toEqual([
      {
        cap_percent: 10,
        triggers: 2,
        first_trigger_at: new Date(at(2)).toISOString(),
        trades_missed: 3,
        equity_at_first_trigger: 8_900,
      },
      {
        cap_percent: 20,
        triggers: 1,
        first_trigger_at: new Date(at(4)).toISOString(),
        trades_missed: 1,
        equity_at_first_trigger: 7_900,
      },
    ]);
    expect(result.worst_drawdown_percent).toBe(21);
  });

  it('ignores events outside the window', () => {
    const fold = new WhatIfHistoryFold({
      capsPercent: [10],
      baseline: 'peak',
      window: { from: at(1), to: at(2) },
    });
    expect(fold.add(sample(0, 1))).toBe(false);
    expect(fold.add(halted(2, 'manual'))).toBe(false);
    expect(fold.add(sample(1, 10_000))).toBe(true);
    expect(fold.result()).toMatchObject({ samples: 1, manual_halts: 0, worst_drawdown_percent: 0 });
  });
});
