import { ManualClock, type TradingEvent, type TradingEventMap, type TradingEventType } from '@app/core';
import type { EventBus } from '@app/common';
import { AnalyticsService } from './analytics.service';

/** The service with a manual clock and a bus that records what the service publishes. */
function setup() {
  const clock = new ManualClock(Date.UTC(2026, 10, 24, 10, 0, 0));
  const published: { type: string; payload: unknown }[] = [];
  const failures: { type: string; error: unknown }[] = [];
  const bus = {
    publish: (type: string, payload: unknown) => published.push({ type, payload }),
    reportListenerFailure: (type: string, error: unknown) => failures.push({ type, error }),
  };
  const service = new AnalyticsService(bus as unknown as EventBus, clock);
  const event = <K extends TradingEventType>(type: K, payload: TradingEventMap[K]) =>
    ({ type, at: clock.now(), account_id: 'default', payload }) as unknown as TradingEvent<K>;
  return { clock, service, published, failures, bus, event };
}

const executed = (latency: number, execution = 5): TradingEventMap['trade_executed'] => ({
  signal_id: 's',
  ticket: 1,
  instrument: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  fill_price: 1.1,
  request_id: 'r',
  latency_ms: latency,
  execution_time_ms: execution,
  attempts: 1,
});

describe('AnalyticsService', () => {
  it('a trade filled 250 ms after its signal was created reports a signal-to-execution latency of 250 ms', () => {
    const { service, event } = setup();
    service.onTradeExecuted(event('trade_executed', executed(250, 12)));
    const { signal_to_execution, order_execution } = service.report('default').latency_ms;
    expect(signal_to_execution).toMatchObject({ count: 1, p50: 250, p95: 250, p99: 250, min: 250, max: 250 });
    expect(order_execution).toMatchObject({ count: 1, p50: 12 });
  });

  it('percentiles over many trades are within 1% of the exact ones', () => {
    const { service, event } = setup();
    const samples = Array.from({ length: 1000 }, (_, i) => 1 + ((i * 7919) % 1000) * 0.37);
    for (const ms of samples) service.onTradeExecuted(event('trade_executed', executed(ms)));
    const sorted = [...samples].sort((a, b) => a - b);
    const exact = (p: number) => sorted[Math.ceil((p / 100) * sorted.length) - 1];
    const { p50, p95, p99 } = service.report('default').latency_ms.signal_to_execution;
    expect(Math.abs(p50! - exact(50)) / exact(50)).toBeLessThan(0.01);
    expect(Math.abs(p95! - exact(95)) / exact(95)).toBeLessThan(0.01);
    expect(Math.abs(p99! - exact(99)) / exact(99)).toBeLessThan(0.01);
  });

  it('counts signals of the last minute and approval times', () => {
    const { service, event, clock } = setup();
    for (let i = 0; i < 3; i += 1) {
      service.onSignalReceived(
        event('signal_received', {
          signal_id: `s${i}`,
          instrument: 'EURUSD',
          side: 'buy',
          volume: 0.1,
          source: 'inbox',
          created_at: '',
        }),
      );
      service.onSignalApproved(
        event('signal_approved', { signal_id: `s${i}`, approval_time_ms: 40, approved_by: 'alice' }),
      );
      clock.advance(20_000);
    }
    const report = service.report('default');
    expect(report.signals_per_minute).toBe(2); // the one at t=0 left the window at t=60 s
    expect(report.latency_ms.approval).toMatchObject({ count: 3, p50: 40 });
  });

  it('success rate over signals that reached execution; error rate over executions and equity reads', () => {
    const { service, event } = setup();
    service.onTradeExecuted(event('trade_executed', executed(10)));
    service.onTradeExecuted(event('trade_executed', executed(10)));
    service.onPositionsClosed(
      event('positions_closed', { signal_id: 'c1', instrument: 'EURUSD', closed: 2, failed: 0 }),
    );
    service.onPositionsClosed(
      event('positions_closed', { signal_id: 'c2', instrument: 'EURUSD', closed: 1, failed: 1 }),
    ); // trade_failed follows
    service.onTradeFailed(event('trade_failed', { signal_id: 'c2', reason: 'close_failed', attempts: 3 }));
    for (let i = 0; i < 4; i += 1)
      service.onEquitySample(
        event('equity_sample', { equity: 10_000, baseline_equity: 10_000, drawdown_percent: 0 }),
      );
    service.onEquityReadFailed(event('equity_read_failed', { consecutive_failures: 1, error: 'timeout' }));
    const report = service.report('default');
    expect(report.execution).toEqual({ reached: 4, executed: 3, failed: 1, success_rate: 0.75 });
    expect(report.errors).toEqual({ operations: 9, errors: 2, error_rate: 2 / 9 });
  });

  it('publishes drawdown_reduction with a positive change, then drawdown_recovered, and keeps the curve', () => {
    const { service, event, clock, published } = setup();
    const sample = (drawdown: number) => {
      clock.advance(1_000);
      service.onEquitySample(
        event('equity_sample', {
          equity: 10_000 * (1 - drawdown / 100),
          baseline_equity: 10_000,
          drawdown_percent: drawdown,
        }),
      );
    };
    [0, 2, 5, 4.5, 3.9, 0].forEach(sample);
    expect(published).toEqual([
      {
        type: 'drawdown_reduction',
        payload: { drawdown_percent: 3.9, trough_percent: 5, drawdown_change_percent: 1.1 },
      },
      {
        type: 'drawdown_reduction',
        payload: { drawdown_percent: 0, trough_percent: 5, drawdown_change_percent: 3.9 },
      },
      { type: 'drawdown_recovered', payload: { recovery_time_ms: 4_000, trough_percent: 5 } },
    ]);
    const { drawdown } = service.report('default');
    expect(drawdown.curve.summary).toMatchObject({ samples: 6, max_drawdown_percent: 5, min_equity: 9_500 });
    expect(drawdown.curve.points[2]).toEqual({
      at: '2026-11-24T10:00:03.000Z',
      equity: 9_500,
      drawdown_percent: 5,
      samples: 1,
    });
    expect(drawdown.recovery).toMatchObject({
      episodes: 1,
      recovered: 1,
      recent_recovery_times_ms: [4_000],
      current_episode: null,
    });
  });

  it('a resume closes the open episode as re-baselined; cap triggers are counted', () => {
    const { service, event, clock } = setup();
    service.onEquitySample(
      event('equity_sample', { equity: 7_500, baseline_equity: 10_000, drawdown_percent: 25 }),
    );
    service.onCapTriggered(
      event('drawdown_cap_triggered', {
        halt_id: 'h',
        reason: 'cap',
        cap: 'total',
        drawdown_percent: 25,
        cap_percent: 20,
        equity: 7_500,
        baseline_equity: 10_000,
        positions_closed: 1,
        positions_failed: 0,
        message: 'Drawdown 25.0% exceeds cap 20%; closed 1 positions',
      }),
    );
    expect(service.report('default').drawdown.recovery.current_episode).toMatchObject({
      trough_percent: 25,
      started_at: '2026-11-24T10:00:00.000Z',
    });
    clock.advance(60_000);
    service.onResumed(
      event('resumed', { halt_id: 'h', reviewed_by: 'alice', note: '', baseline_equity: 7_500 }),
    );
    const { drawdown } = service.report('default');
    expect(drawdown.cap_triggers).toBe(1);
    expect(drawdown.recovery).toMatchObject({
      episodes: 1,
      recovered: 0,
      rebaselined: 1,
      current_episode: null,
    });
  });

  it('a listener that throws reports the failure to the bus instead of throwing at the publisher', () => {
    const { service, event, bus, failures } = setup();
    const boom = new Error('subscriber exploded');
    bus.publish = () => {
      throw boom;
    };
    service.onEquitySample(
      event('equity_sample', { equity: 9_000, baseline_equity: 10_000, drawdown_percent: 10 }),
    );
    expect(() =>
      service.onEquitySample(
        event('equity_sample', { equity: 10_000, baseline_equity: 10_000, drawdown_percent: 0 }),
      ),
    ).not.toThrow();
    expect(failures).toEqual([{ type: 'equity_sample', error: boom }]);
  });
});

describe('AnalyticsService, several accounts', () => {
  it('keeps each account to its own numbers, and ignores events about no account', () => {
    const { service, clock } = setup();
    const on = (account: string | undefined, latency: number) =>
      service.onTradeExecuted({
        type: 'trade_executed',
        at: clock.now(),
        ...(account === undefined ? {} : { account_id: account }),
        payload: executed(latency),
      });
    on('alice', 100);
    on('alice', 100);
    on('bob', 900);
    on(undefined, 5);
    expect(service.report('alice').latency_ms.signal_to_execution).toMatchObject({ count: 2, p50: 100 });
    expect(service.report('bob').latency_ms.signal_to_execution).toMatchObject({ count: 1, p50: 900 });
    expect(service.report('carol').latency_ms.signal_to_execution.count).toBe(0);
  });
});
