import { Inject, Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  DrawdownCurve,
  isCapTrigger,
  LatencyHistogram,
  OutcomeRates,
  RecoveryTracker,
  SlidingWindowCounter,
  type Clock,
  type DrawdownPoint,
  type DrawdownCurveSummary,
  type ErrorOutcomes,
  type ExecutionOutcomes,
  type LatencySnapshot,
  type RecoverySummary,
  type TradingEvent,
} from '@app/core';
import { EventBus } from '@app/common';
import { CLOCK } from '@app/config';

/** GET /api/v1/analytics (docs/service.md; docs/risk.md, Analytics of drawdown). Times are ISO-8601. */
export interface AnalyticsReport {
  latency_ms: {
    signal_to_execution: LatencySnapshot;
    approval: LatencySnapshot;
    order_execution: LatencySnapshot;
  };
  signals_per_minute: number;
  execution: ExecutionOutcomes;
  errors: ErrorOutcomes;
  drawdown: {
    curve: {
      summary: Timed<DrawdownCurveSummary, 'first_at' | 'last_at'>;
      points: Timed<DrawdownPoint, 'at'>[];
    };
    recovery: Omit<RecoverySummary, 'current_episode'> & {
      recent_recovery_times_ms: number[];
      current_episode: Timed<
        NonNullable<RecoverySummary['current_episode']>,
        'started_at' | 'trough_at'
      > | null;
    };
    cap_triggers: number;
  };
}

/** T with its epoch-ms fields K as ISO strings (null stays null). */
type Timed<T, K extends keyof T> = Omit<T, K> & { [P in K]: null extends T[P] ? string | null : string };

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/**
 * Analytics of the pipeline, in fixed memory: thin wiring from events to the pure recorders in
 * @app/core. Listeners are synchronous, each a few O(1) updates, and catch their own errors
 * (`@OnEvent` would swallow them) so analytics can never break a publisher.
 *
 * Definitions:
 * - execution success rate: executed / reached, where a signal reached execution when the
 *   executor ended it as `trade_executed` (or a `close` whose `positions_closed` closed all) or
 *   `trade_failed` (refusals before the broker, e.g. rate_limited, included: the executor took it).
 * - error rate: errors / operations; operations = signals that reached execution + equity reads
 *   (`equity_sample` or `equity_read_failed`), errors = `trade_failed` + `equity_read_failed`.
 *   Equity reads run every EQUITY_CHECK_INTERVAL_MS, so they dominate the denominator when few
 *   signals come: the rate says how often the service's calls to the broker go wrong.
 * - drawdown: every `equity_sample` feeds the curve and the recovery tracker; a fall of drawdown
 *   by >= 1 point from its trough (or last reduction) publishes `drawdown_reduction` with a
 *   positive `drawdown_change_percent`; back to the baseline publishes `drawdown_recovered`.
 *   A resume re-baselines, so the open episode is closed as re-baselined.
 *
 * Listeners bind at application bootstrap: events published before that are not counted. Each
 * account has its own analytics (docs/accounts.md); an account's latency histograms are made at
 * its first trade, so thousands of idle accounts cost only their drawdown curves.
 */
/**
 * Per-account histograms: 64 sub-buckets (under 0.8 % error on a percentile) from 10 µs to 10
 * minutes for latencies (1 day for approvals, which wait for a person); larger values are counted as
 * clamped. About 13 KB each, where the defaults take 32 KB: thousands of trading accounts add up.
 */
const LATENCY_RANGE = { lowestMs: 0.01, highestMs: 600_000, subBuckets: 64 };
const APPROVAL_RANGE = { lowestMs: 0.01, highestMs: 86_400_000, subBuckets: 64 };

/** One account's recorders. */
class AccountAnalytics {
  private signalToExecution: LatencyHistogram | undefined;
  private approval: LatencyHistogram | undefined;
  private orderExecution: LatencyHistogram | undefined;
  readonly signalsPerMinute = new SlidingWindowCounter();
  readonly outcomes = new OutcomeRates();
  readonly curve = new DrawdownCurve({ maxPoints: 512 });
  readonly recovery = new RecoveryTracker({ reductionStepPercent: 1 });
  capTriggers = 0;

  recordApproval(ms: number): void {
    (this.approval ??= new LatencyHistogram(APPROVAL_RANGE)).record(ms);
  }

  recordExecution(latencyMs: number, executionMs: number): void {
    (this.signalToExecution ??= new LatencyHistogram(LATENCY_RANGE)).record(latencyMs);
    (this.orderExecution ??= new LatencyHistogram(LATENCY_RANGE)).record(executionMs);
  }

  latency(): AnalyticsReport['latency_ms'] {
    return {
      signal_to_execution: (this.signalToExecution ?? EMPTY).snapshot(),
      approval: (this.approval ?? EMPTY).snapshot(),
      order_execution: (this.orderExecution ?? EMPTY).snapshot(),
    };
  }
}

/** What an account without a sample reports: never written to. */
const EMPTY = new LatencyHistogram(LATENCY_RANGE);

@Injectable()
export class AnalyticsService {
  private readonly accounts = new Map<string, AccountAnalytics>();

  constructor(
    private readonly events: EventBus,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @OnEvent('signal_received')
  onSignalReceived(event: TradingEvent<'signal_received'>): void {
    this.guarded(event, (a) => a.signalsPerMinute.add(event.at));
  }

  @OnEvent('signal_approved')
  onSignalApproved(event: TradingEvent<'signal_approved'>): void {
    this.guarded(event, (a) => a.recordApproval(event.payload.approval_time_ms));
  }

  @OnEvent('trade_executed')
  onTradeExecuted(event: TradingEvent<'trade_executed'>): void {
    this.guarded(event, (a) => {
      a.recordExecution(event.payload.latency_ms, event.payload.execution_time_ms);
      a.outcomes.recordExecution('executed');
      a.outcomes.recordOperation('ok');
    });
  }

  @OnEvent('positions_closed')
  onPositionsClosed(event: TradingEvent<'positions_closed'>): void {
    // A close that failed in part is followed by trade_failed, which counts it.
    this.guarded(event, (a) => {
      if (event.payload.failed > 0) return;
      a.outcomes.recordExecution('executed');
      a.outcomes.recordOperation('ok');
    });
  }

  @OnEvent('trade_failed')
  onTradeFailed(event: TradingEvent<'trade_failed'>): void {
    this.guarded(event, (a) => {
      a.outcomes.recordExecution('failed');
      a.outcomes.recordOperation('error');
    });
  }

  @OnEvent('equity_read_failed')
  onEquityReadFailed(event: TradingEvent<'equity_read_failed'>): void {
    this.guarded(event, (a) => a.outcomes.recordOperation('error'));
  }

  @OnEvent('equity_sample')
  onEquitySample(event: TradingEvent<'equity_sample'>): void {
    this.guarded(event, (a) => {
      const { equity, drawdown_percent } = event.payload;
      a.outcomes.recordOperation('ok');
      a.curve.add(event.at, equity, drawdown_percent);
      const seen = a.recovery.observe(event.at, drawdown_percent);
      if (seen.reduction !== undefined)
        this.events.publish('drawdown_reduction', seen.reduction, event.account_id);
      if (seen.recovered !== undefined)
        this.events.publish('drawdown_recovered', seen.recovered, event.account_id);
    });
  }

  @OnEvent('drawdown_cap_triggered')
  onCapTriggered(event: TradingEvent<'drawdown_cap_triggered'>): void {
    this.guarded(event, (a) => {
      if (isCapTrigger(event.payload.cap)) a.capTriggers += 1;
    });
  }

  @OnEvent('resumed')
  onResumed(event: TradingEvent<'resumed'>): void {
    this.guarded(event, (a) => a.recovery.reset(event.at));
  }

  /**
   * One account's latency percentiles alone: what a list of thousands of accounts needs, without
   * building each one's drawdown curve as `report` does.
   */
  latencyOf(accountId: string): AnalyticsReport['latency_ms'] {
    return (this.accounts.get(accountId) ?? new AccountAnalytics()).latency();
  }

  /** One account's report (an account without events yet reports empty analytics). */
  report(accountId: string): AnalyticsReport {
    const a = this.accounts.get(accountId) ?? new AccountAnalytics();
    const summary = a.curve.summary();
    const recovery = a.recovery.summary();
    const episode = recovery.current_episode;
    return {
      latency_ms: a.latency(),
      signals_per_minute: a.signalsPerMinute.ratePerMinute(this.clock.now()),
      execution: a.outcomes.execution(),
      errors: a.outcomes.errorRate(),
      drawdown: {
        curve: {
          summary: { ...summary, first_at: isoOrNull(summary.first_at), last_at: isoOrNull(summary.last_at) },
          points: a.curve.points().map((p) => ({ ...p, at: iso(p.at) })),
        },
        recovery: {
          ...recovery,
          recent_recovery_times_ms: a.recovery.recentRecoveryTimes(),
          current_episode:
            episode === null
              ? null
              : { ...episode, started_at: iso(episode.started_at), trough_at: iso(episode.trough_at) },
        },
        cap_triggers: a.capTriggers,
      },
    };
  }

  private guarded(event: TradingEvent, update: (account: AccountAnalytics) => unknown): void {
    try {
      if (event.account_id === undefined) return;
      let account = this.accounts.get(event.account_id);
      if (account === undefined) {
        account = new AccountAnalytics();
        this.accounts.set(event.account_id, account);
      }
      update(account);
    } catch (error) {
      this.events.reportListenerFailure(event.type, error);
    }
  }
}
