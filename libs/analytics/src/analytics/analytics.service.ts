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
  type TradingEventType,
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
 * Listeners bind at application bootstrap: events published before that are not counted.
 */
@Injectable()
export class AnalyticsService {
  private readonly signalToExecution = new LatencyHistogram();
  private readonly approval = new LatencyHistogram();
  private readonly orderExecution = new LatencyHistogram();
  private readonly signalsPerMinute = new SlidingWindowCounter();
  private readonly outcomes = new OutcomeRates();
  private readonly curve = new DrawdownCurve({ maxPoints: 512 });
  private readonly recovery = new RecoveryTracker({ reductionStepPercent: 1 });
  private capTriggers = 0;

  constructor(
    private readonly events: EventBus,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @OnEvent('signal_received')
  onSignalReceived(event: TradingEvent<'signal_received'>): void {
    this.guarded(event.type, () => this.signalsPerMinute.add(event.at));
  }

  @OnEvent('signal_approved')
  onSignalApproved(event: TradingEvent<'signal_approved'>): void {
    this.guarded(event.type, () => this.approval.record(event.payload.approval_time_ms));
  }

  @OnEvent('trade_executed')
  onTradeExecuted(event: TradingEvent<'trade_executed'>): void {
    this.guarded(event.type, () => {
      this.signalToExecution.record(event.payload.latency_ms);
      this.orderExecution.record(event.payload.execution_time_ms);
      this.outcomes.recordExecution('executed');
      this.outcomes.recordOperation('ok');
    });
  }

  @OnEvent('positions_closed')
  onPositionsClosed(event: TradingEvent<'positions_closed'>): void {
    // A close that failed in part is followed by trade_failed, which counts it.
    this.guarded(event.type, () => {
      if (event.payload.failed > 0) return;
      this.outcomes.recordExecution('executed');
      this.outcomes.recordOperation('ok');
    });
  }

  @OnEvent('trade_failed')
  onTradeFailed(event: TradingEvent<'trade_failed'>): void {
    this.guarded(event.type, () => {
      this.outcomes.recordExecution('failed');
      this.outcomes.recordOperation('error');
    });
  }

  @OnEvent('equity_read_failed')
  onEquityReadFailed(event: TradingEvent<'equity_read_failed'>): void {
    this.guarded(event.type, () => this.outcomes.recordOperation('error'));
  }

  @OnEvent('equity_sample')
  onEquitySample(event: TradingEvent<'equity_sample'>): void {
    this.guarded(event.type, () => {
      const { equity, drawdown_percent } = event.payload;
      this.outcomes.recordOperation('ok');
      this.curve.add(event.at, equity, drawdown_percent);
      const seen = this.recovery.observe(event.at, drawdown_percent);
      if (seen.reduction !== undefined) this.events.publish('drawdown_reduction', seen.reduction);
      if (seen.recovered !== undefined) this.events.publish('drawdown_recovered', seen.recovered);
    });
  }

  @OnEvent('drawdown_cap_triggered')
  onCapTriggered(event: TradingEvent<'drawdown_cap_triggered'>): void {
    this.guarded(event.type, () => {
      if (isCapTrigger(event.payload.cap)) this.capTriggers += 1;
    });
  }

  @OnEvent('resumed')
  onResumed(event: TradingEvent<'resumed'>): void {
    this.guarded(event.type, () => this.recovery.reset(event.at));
  }

  report(): AnalyticsReport {
    const summary = this.curve.summary();
    const recovery = this.recovery.summary();
    const episode = recovery.current_episode;
    return {
      latency_ms: {
        signal_to_execution: this.signalToExecution.snapshot(),
        approval: this.approval.snapshot(),
        order_execution: this.orderExecution.snapshot(),
      },
      signals_per_minute: this.signalsPerMinute.ratePerMinute(this.clock.now()),
      execution: this.outcomes.execution(),
      errors: this.outcomes.errorRate(),
      drawdown: {
        curve: {
          summary: { ...summary, first_at: isoOrNull(summary.first_at), last_at: isoOrNull(summary.last_at) },
          points: this.curve.points().map((p) => ({ ...p, at: iso(p.at) })),
        },
        recovery: {
          ...recovery,
          recent_recovery_times_ms: this.recovery.recentRecoveryTimes(),
          current_episode:
            episode === null
              ? null
              : { ...episode, started_at: iso(episode.started_at), trough_at: iso(episode.trough_at) },
        },
        cap_triggers: this.capTriggers,
      },
    };
  }

  private guarded(type: TradingEventType, update: () => unknown): void {
    try {
      update();
    } catch (error) {
      this.events.reportListenerFailure(type, error);
    }
  }
}
