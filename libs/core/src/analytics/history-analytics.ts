import { isCapTrigger, type TradingEvent } from '../events/trading-events';
import type { HistoryWindow } from '../history/history-store.port';
import { DrawdownCurve, type DrawdownCurveSummary, type DrawdownPoint } from './drawdown-curve';
import { LatencyHistogram, type LatencyHistogramOptions, type LatencySnapshot } from './latency-histogram';
import { OutcomeRates, type ErrorOutcomes, type ExecutionOutcomes } from './outcome-rates';
import { RecoveryTracker, type RecoverySummary } from './recovery-tracker';

/**
 * docs/service.md's analytics (`GET /api/v1/analytics`), computed over a window of an account's
 * history instead of since the process started (docs/history.md, History), plus
 * the window's counts. A fold: events are fed one by one, oldest first, as the history store
 * pages them, and memory is fixed (histograms, a 512-point curve, a recovery tracker) whatever
 * the window holds.
 *
 * Definitions are the live analytics' (libs/analytics, AnalyticsService), so the two answers
 * agree on the same events:
 * - execution: `trade_executed` and a `positions_closed` that closed all are executed,
 *   `trade_failed` is failed; success rate = executed / (executed + failed).
 * - error rate: errors (`trade_failed`, `equity_read_failed`) / operations (those, fills and
 *   `equity_sample`s).
 * - drawdown: every `equity_sample` (its recorded drawdown, against the real baseline) feeds the
 *   curve and the recovery tracker; a `resumed` re-baselines (the open episode ends as
 *   re-baselined); cap triggers count `drawdown_cap_triggered` of the total or daily cap.
 * - throughput: `signals_per_minute` is the window's `signal_received` count over its length in
 *   minutes (the live answer's is the last 60 s); `peak_signals_per_minute` is the busiest UTC
 *   clock minute of the window.
 * - counts: signals = `signal_received`; executed as above; failed = `trade_failed`;
 *   rejected = `signal_rejected` (halted, or refused by a person).
 */

/** The live analytics' ranges: 64 sub-buckets (under 0.8 % error), 10 µs to 10 min (1 day for approvals). */
export const ANALYTICS_LATENCY_RANGE: LatencyHistogramOptions = {
  lowestMs: 0.01,
  highestMs: 600_000,
  subBuckets: 64,
};
export const ANALYTICS_APPROVAL_RANGE: LatencyHistogramOptions = {
  lowestMs: 0.01,
  highestMs: 86_400_000,
  subBuckets: 64,
};

export interface WindowCounts {
  signals: number;
  executed: number;
  failed: number;
  rejected: number;
}

/** T with its epoch-ms fields K as ISO-8601 strings (null stays null). */
export type WithIsoTimes<T, K extends keyof T> = Omit<T, K> & {
  [P in K]: null extends T[P] ? string | null : string;
};

export interface WindowAnalyticsReport {
  window: { from: string; to: string };
  latency_ms: {
    signal_to_execution: LatencySnapshot;
    approval: LatencySnapshot;
    order_execution: LatencySnapshot;
  };
  signals_per_minute: number;
  peak_signals_per_minute: number;
  execution: ExecutionOutcomes;
  errors: ErrorOutcomes;
  drawdown: {
    curve: {
      summary: WithIsoTimes<DrawdownCurveSummary, 'first_at' | 'last_at'>;
      points: WithIsoTimes<DrawdownPoint, 'at'>[];
    };
    recovery: Omit<RecoverySummary, 'current_episode'> & {
      recent_recovery_times_ms: number[];
      current_episode: WithIsoTimes<
        NonNullable<RecoverySummary['current_episode']>,
        'started_at' | 'trough_at'
      > | null;
    };
    cap_triggers: number;
  };
  counts: WindowCounts;
}

export interface HistoryAnalyticsOptions {
  window: HistoryWindow;
  /** Even, >= 2; default 512 like the live curve. */
  maxCurvePoints?: number;
}

const MINUTE_MS = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export class HistoryAnalyticsFold {
  readonly window: Readonly<HistoryWindow>;
  private readonly signalToExecution = new LatencyHistogram(ANALYTICS_LATENCY_RANGE);
  private readonly orderExecution = new LatencyHistogram(ANALYTICS_LATENCY_RANGE);
  private readonly approval = new LatencyHistogram(ANALYTICS_APPROVAL_RANGE);
  private readonly outcomes = new OutcomeRates();
  private readonly curve: DrawdownCurve;
  private readonly recovery = new RecoveryTracker({ reductionStepPercent: 1 });
  private readonly counts: WindowCounts = { signals: 0, executed: 0, failed: 0, rejected: 0 };
  private capTriggers = 0;
  private minute = Number.NaN;
  private inMinute = 0;
  private busiestMinute = 0;

  /** A window without finite from < to is a caller's bug (the endpoint validates its query): RangeError. */
  constructor(options: HistoryAnalyticsOptions) {
    const { from, to } = options.window;
    if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
      throw new RangeError(`the window must have finite from < to, got ${from}..${to}`);
    }
    this.window = { from, to };
    this.curve = new DrawdownCurve({ maxPoints: options.maxCurvePoints ?? 512 });
  }

  /** Feeds one event, oldest first; an event outside the window is ignored (false). */
  add(event: TradingEvent): boolean {
    if (!Number.isFinite(event.at) || event.at < this.window.from || event.at >= this.window.to) return false;
    switch (event.type) {
      case 'signal_received':
        this.counts.signals += 1;
        this.countThroughput(event.at);
        break;
      case 'signal_approved':
        this.approval.record(event.payload.approval_time_ms);
        break;
      case 'signal_rejected':
        this.counts.rejected += 1;
        break;
      case 'trade_executed':
        this.signalToExecution.record(event.payload.latency_ms);
        this.orderExecution.record(event.payload.execution_time_ms);
        this.recordExecuted();
        break;
      case 'positions_closed':
        // A close that failed in part is followed by trade_failed, which counts it.
        if (event.payload.failed === 0) this.recordExecuted();
        break;
      case 'trade_failed':
        this.counts.failed += 1;
        this.outcomes.recordExecution('failed');
        this.outcomes.recordOperation('error');
        break;
      case 'equity_read_failed':
        this.outcomes.recordOperation('error');
        break;
      case 'equity_sample':
        this.outcomes.recordOperation('ok');
        this.curve.add(event.at, event.payload.equity, event.payload.drawdown_percent);
        this.recovery.observe(event.at, event.payload.drawdown_percent);
        break;
      case 'drawdown_cap_triggered':
        if (isCapTrigger(event.payload.cap)) this.capTriggers += 1;
        break;
      case 'resumed':
        this.recovery.reset(event.at);
        break;
      default:
        break;
    }
    return true;
  }

  result(): WindowAnalyticsReport {
    const summary = this.curve.summary();
    const recovery = this.recovery.summary();
    const episode = recovery.current_episode;
    const minutes = (this.window.to - this.window.from) / MINUTE_MS;
    return {
      window: { from: iso(this.window.from), to: iso(this.window.to) },
      latency_ms: {
        signal_to_execution: this.signalToExecution.snapshot(),
        approval: this.approval.snapshot(),
        order_execution: this.orderExecution.snapshot(),
      },
      signals_per_minute: this.counts.signals / minutes,
      peak_signals_per_minute: Math.max(this.busiestMinute, this.inMinute),
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
      counts: { ...this.counts },
    };
  }

  private recordExecuted(): void {
    this.counts.executed += 1;
    this.outcomes.recordExecution('executed');
    this.outcomes.recordOperation('ok');
  }

  /** Events come oldest first, so one running minute is enough to find the busiest. */
  private countThroughput(at: number): void {
    const minute = Math.floor(at / MINUTE_MS);
    if (minute !== this.minute) {
      this.busiestMinute = Math.max(this.busiestMinute, this.inMinute);
      this.minute = minute;
      this.inMinute = 0;
    }
    this.inMinute += 1;
  }
}
