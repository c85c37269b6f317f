import type { TradingEvent, TradingEventMap, TradingEventType } from '../events/trading-events';
import { HistoryAnalyticsFold } from './history-analytics';

const T0 = Date.UTC(2026, 10, 24, 0, 0, 0);
const SEC = 1_000;
const MIN = 60_000;
const window = { from: T0, to: T0 + 10 * MIN };

const ev = <K extends TradingEventType>(type: K, at: number, payload: TradingEventMap[K]): TradingEvent =>
  ({ type, at, account_id: 'acc-1', payload }) as TradingEvent;

const executed = (at: number, latencyMs: number, executionMs = 5): TradingEvent =>
  ev('trade_executed', at, {
    signal_id: `s-${at}`,
    ticket: 1,
    instrument: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    fill_price: 1.1,
    request_id: `r-${at}`,
    latency_ms: latencyMs,
    execution_time_ms: executionMs,
    attempts: 1,
  });
const received = (at: number, id = `s-${at}`): TradingEvent =>
  ev('signal_received', at, {
    signal_id: id,
    instrument: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    source: 'test',
    created_at: new Date(at).toISOString(),
  });
const failed = (at: number): TradingEvent =>
  ev('trade_failed', at, { signal_id: `s-${at}`, reason: 'NO_MONEY', attempts: 1 });
const sample = (at: number, equity: number, drawdown: number): TradingEvent =>
  ev('equity_sample', at, { equity, baseline_equity: 10_000, drawdown_percent: drawdown });
const capTriggered = (at: number, cap: 'total' | 'daily' | 'manual' | 'untrusted_state'): TradingEvent =>
  ev('drawdown_cap_triggered', at, {
    halt_id: `h-${at}`,
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

const fold = (events: TradingEvent[]): HistoryAnalyticsFold => {
  const f = new HistoryAnalyticsFold({ window });
  for (const e of events) f.add(e);
  return f;
};

describe('HistoryAnalyticsFold', () => {
  it('gives signal-to-execution p50/p95/p99 from trade_executed latencies (histogram precision)', () => {
    const events = Array.from({ length: 100 }, (_, i) => executed(T0 + i * SEC, i + 1, 2 * (i + 1)));
    const { latency_ms } = fold(events).result();
    const s2e = latency_ms.signal_to_execution;
    expect(s2e.count).toBe(100);
    expect(s2e.p50).toBeCloseTo(50, 0);
    expect(s2e.p95).toBeCloseTo(95, 0);
    expect(s2e.p99).toBeCloseTo(99, 0);
    expect(s2e.min).toBe(1);
    expect(s2e.max).toBe(100);
    expect(latency_ms.order_execution.p50).toBeCloseTo(100, 0);
    expect(latency_ms.approval.count).toBe(0);
  });

  it('records approval times from signal_approved', () => {
    const result = fold([
      ev('signal_approved', T0, { signal_id: 'a', approval_time_ms: 30_000, approved_by: 'ops' }),
    ]).result();
    expect(result.latency_ms.approval).toMatchObject({ count: 1, p50: 30_000 });
  });

  it('computes success and error rates and the window counts as the live analytics define them', () => {
    const result = fold([
      received(T0 + 1),
      received(T0 + 2),
      received(T0 + 3),
      received(T0 + 4),
      executed(T0 + 10, 20),
      executed(T0 + 11, 20),
      ev('positions_closed', T0 + 12, { signal_id: 'c1', instrument: 'EURUSD', closed: 2, failed: 0 }),
      // A close that failed in part: not executed; its trade_failed counts it.
      ev('positions_closed', T0 + 13, { signal_id: 'c2', instrument: 'EURUSD', closed: 1, failed: 1 }),
      failed(T0 + 13),
      ev('signal_rejected', T0 + 14, { signal_id: 'x', reason: 'halted' }),
      ev('signal_rejected', T0 + 15, { signal_id: 'y', reason: 'rejected by ops' }),
      ev('equity_read_failed', T0 + 16, { consecutive_failures: 1, error: 'timeout' }),
      sample(T0 + 17, 10_000, 0),
      sample(T0 + 18, 10_000, 0),
    ]).result();
    expect(result.counts).toEqual({ signals: 4, executed: 3, failed: 1, rejected: 2 });
    expect(result.execution).toEqual({ reached: 4, executed: 3, failed: 1, success_rate: 0.75 });
    // operations: 3 executed + 1 failed + 1 read failure + 2 samples; errors: the failure and the read failure.
    expect(result.errors).toEqual({ operations: 7, errors: 2, error_rate: 2 / 7 });
  });

  it('reports null rates, not 0 %, for an empty window', () => {
    const result = fold([]).result();
    expect(result.execution.success_rate).toBeNull();
    expect(result.errors.error_rate).toBeNull();
    expect(result.latency_ms.signal_to_execution.p99).toBeNull();
    expect(result.drawdown.curve.summary.first_at).toBeNull();
    expect(result.counts).toEqual({ signals: 0, executed: 0, failed: 0, rejected: 0 });
    expect(result.signals_per_minute).toBe(0);
  });

  it('gives throughput as the window average and the busiest clock minute', () => {
    // 20 signals in a 10-minute window: 12 in minute 3, 8 in minute 7.
    const events = [
      ...Array.from({ length: 12 }, (_, i) => received(T0 + 3 * MIN + i * SEC)),
      ...Array.from({ length: 8 }, (_, i) => received(T0 + 7 * MIN + i * SEC)),
    ];
    const result = fold(events).result();
    expect(result.signals_per_minute).toBe(2);
    expect(result.peak_signals_per_minute).toBe(12);
    expect(fold(events.slice(12)).result().peak_signals_per_minute).toBe(8);
  });

  it('builds the drawdown curve and recovery times from equity samples, and counts only cap triggers', () => {
    const result = fold([
      sample(T0, 10_000, 0),
      sample(T0 + 1 * MIN, 9_800, 2),
      sample(T0 + 2 * MIN, 9_000, 10),
      capTriggered(T0 + 2 * MIN + 1, 'total'),
      sample(T0 + 3 * MIN, 9_500, 5),
      sample(T0 + 4 * MIN, 10_000, 0),
      capTriggered(T0 + 5 * MIN, 'daily'),
      capTriggered(T0 + 6 * MIN, 'manual'),
      capTriggered(T0 + 7 * MIN, 'untrusted_state'),
    ]).result();
    const { curve, recovery, cap_triggers } = result.drawdown;
    expect(cap_triggers).toBe(2);
    expect(curve.summary).toMatchObject({
      samples: 5,
      max_drawdown_percent: 10,
      min_equity: 9_000,
      max_equity: 10_000,
      first_at: new Date(T0).toISOString(),
      last_at: new Date(T0 + 4 * MIN).toISOString(),
    });
    expect(curve.points[2]).toEqual({
      at: new Date(T0 + 2 * MIN).toISOString(),
      equity: 9_000,
      drawdown_percent: 10,
      samples: 1,
    });
    // The episode began at minute 1 and was back at the baseline at minute 4.
    expect(recovery).toMatchObject({ episodes: 1, recovered: 1, recent_recovery_times_ms: [3 * MIN] });
    expect(recovery.current_episode).toBeNull();
  });

  it('closes an open episode as re-baselined at a real resume', () => {
    const result = fold([
      sample(T0, 10_000, 0),
      sample(T0 + MIN, 8_000, 20),
      ev('resumed', T0 + 2 * MIN, { halt_id: 'h', reviewed_by: 'ops', note: 'ok', baseline_equity: 8_000 }),
      sample(T0 + 3 * MIN, 7_900, 1.25),
    ]).result();
    expect(result.drawdown.recovery).toMatchObject({ episodes: 2, recovered: 0, rebaselined: 1 });
    expect(result.drawdown.recovery.current_episode).toMatchObject({
      started_at: new Date(T0 + 3 * MIN).toISOString(),
      trough_percent: 1.25,
    });
  });

  it('ignores events outside the window (from included, to excluded)', () => {
    const f = new HistoryAnalyticsFold({ window });
    expect(f.add(received(T0 - 1))).toBe(false);
    expect(f.add(received(T0))).toBe(true);
    expect(f.add(received(window.to))).toBe(false);
    expect(f.result().counts.signals).toBe(1);
  });

  it('keeps memory bounded over a long window: the curve stays within its points', () => {
    const long = { from: T0, to: T0 + 90 * 24 * 60 * MIN };
    const f = new HistoryAnalyticsFold({ window: long });
    const samples = 90 * 24 * 60; // one a minute for 90 days
    for (let i = 0; i < samples; i += 1) {
      f.add(sample(T0 + i * MIN, 10_000 - (i % 1000), (i % 1000) / 100));
      f.add(executed(T0 + i * MIN + 1, 10 + (i % 50)));
    }
    const result = f.result();
    expect(result.drawdown.curve.points.length).toBeLessThanOrEqual(512);
    expect(result.drawdown.curve.summary.samples).toBe(samples);
    expect(result.drawdown.curve.summary.max_drawdown_percent).toBe(9.99);
    expect(result.latency_ms.signal_to_execution.count).toBe(samples);
    expect(result.latency_ms.signal_to_execution.max).toBe(59);
  });

  it('refuses an empty window', () => {
    expect(() => new HistoryAnalyticsFold({ window: { from: T0, to: T0 } })).toThrow(RangeError);
  });
});
