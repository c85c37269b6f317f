import type { TradingEvent } from '../events/trading-events';
import type { CoreLogger } from '../logging/core-logger.port';
import { backoffDelay, type Backoff } from '../time/backoff';
import type { Clock } from '../time/clock';
import type { Cancel, Scheduler } from '../time/scheduler';
import {
  HistoryAppendError,
  type HistoryEvent,
  type HistoryStore,
  type RetentionPolicy,
} from './history-store.port';

export interface HistoryRecorderOptions {
  /** A flush at least this often while events wait (1 s). */
  flushEveryMs: number;
  /** A flush at once when this many wait, and never more than this many per `append` (1,000). */
  maxBatch: number;
  /** Beyond this many waiting events, new ones are dropped and counted (100,000). */
  maxBuffered: number;
  /** Between a failed flush and its retry. */
  retry: Backoff;
  /** Retention is applied this often (1 h), and once at start. */
  pruneEveryMs: number;
  retention: RetentionPolicy;
}

/**
 * Every 5 s, up to 20,000 events a write: with 2,000 accounts (one equity sample each a second)
 * each account's file is appended once a flush, 400 appends a second rather than 2,000, which
 * kept an idle fleet's CPU within its budget; history is at most 5 s behind.
 */
export const DEFAULT_HISTORY_RECORDER_OPTIONS: Omit<HistoryRecorderOptions, 'retention'> = {
  flushEveryMs: 5_000,
  maxBatch: 20_000,
  maxBuffered: 100_000,
  retry: { baseDelayMs: 1_000, maxDelayMs: 30_000 },
  pruneEveryMs: 3_600_000,
};

export interface HistoryRecorderPorts {
  store: HistoryStore;
  scheduler: Scheduler;
  clock: Clock;
  logger: CoreLogger;
  /** A flush that failed (trading_history_write_failures_total). */
  onWriteFailure?: () => void;
  /** Events that will never be written: over the bound, or left at stop (trading_history_dropped_total). */
  onDropped?: (count: number) => void;
}

/**
 * Takes every account's events off the signal path into the history store (docs/history.md):
 * `record` only pushes onto a bounded buffer and returns; flushes run on the scheduler, one at a
 * time, every `flushEveryMs` or as soon as `maxBatch` wait. A failed flush keeps its batch at the
 * head of the buffer and is retried with backoff; a store that hangs holds the one flush, the
 * buffer fills to its bound, and what comes after is dropped and counted. Nothing here ever
 * throws into, or waits inside, the publisher.
 */
export class HistoryRecorder {
  private buffer: HistoryEvent[] = [];
  private flushing: Promise<boolean> | undefined;
  private soonScheduled: Cancel | undefined;
  private retryNotBefore = 0;
  private consecutiveFailures = 0;
  private pruning = false;
  private stopped = false;
  private readonly timers: Cancel[] = [];
  private writeFailureCount = 0;
  private droppedCount = 0;

  constructor(
    private readonly ports: HistoryRecorderPorts,
    private readonly options: HistoryRecorderOptions,
  ) {}

  /** Flush and prune timers; a first prune at once. */
  start(): void {
    this.timers.push(this.ports.scheduler.every(this.options.flushEveryMs, () => this.flushIfDue()));
    this.timers.push(this.ports.scheduler.every(this.options.pruneEveryMs, () => void this.prune()));
    this.timers.push(this.ports.scheduler.after(0, () => void this.prune()));
  }

  /**
   * Keeps an account's event for history (the process's own events, without an account, are not
   * history). Synchronous, O(1) amortised, never throws.
   */
  record(event: TradingEvent): void {
    if (event.account_id === undefined || this.stopped) return;
    if (this.buffer.length >= this.options.maxBuffered) {
      this.drop(1);
      return;
    }
    this.buffer.push(event as HistoryEvent);
    if (this.buffer.length >= this.options.maxBatch && this.soonScheduled === undefined)
      // On the scheduler, not here: the store's synchronous part must not run in the publisher's stack.
      this.soonScheduled = this.ports.scheduler.after(0, () => {
        this.soonScheduled = undefined;
        this.flushIfDue();
      });
  }

  /**
   * Stops the timers and writes what is left within `budgetMs` (a store that hangs or keeps
   * failing does not hold the shutdown longer); what is still unwritten then is dropped, counted
   * and logged.
   */
  async stop(budgetMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const cancel of this.timers.splice(0)) cancel();
    this.soonScheduled?.();
    this.soonScheduled = undefined;
    const budget = new AbortController();
    const drained = this.drain(budget.signal);
    await Promise.race([drained, this.ports.scheduler.sleep(budgetMs, budget.signal)]);
    budget.abort();
    const left = this.buffer.length;
    if (left > 0) {
      this.buffer = [];
      this.drop(left);
      this.ports.logger.error(
        { unwritten: left, budget_ms: budgetMs },
        `history: ${left} event(s) not written before the shutdown budget ran out`,
      );
    }
  }

  get buffered(): number {
    return this.buffer.length;
  }

  get writeFailures(): number {
    return this.writeFailureCount;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  private async drain(budget: AbortSignal): Promise<void> {
    if (this.flushing !== undefined) await this.flushing;
    while (this.buffer.length > 0 && !budget.aborted) {
      const wait = this.retryNotBefore - this.ports.clock.now();
      if (wait > 0) await this.ports.scheduler.sleep(wait, budget);
      if (budget.aborted) return;
      await this.flush();
    }
  }

  private flushIfDue(): void {
    if (this.flushing !== undefined || this.buffer.length === 0) return;
    if (this.ports.clock.now() < this.retryNotBefore) return;
    void this.flush().then((written) => {
      // More than a batch waited: the next one now rather than at the next tick.
      if (written && this.buffer.length >= this.options.maxBatch && !this.stopped) this.flushIfDue();
    });
  }

  /** One batch to the store; resolves whether it was written, never rejects. */
  private flush(): Promise<boolean> {
    const batch = this.buffer.slice(0, this.options.maxBatch);
    const flushing = this.write(batch).finally(() => {
      this.flushing = undefined;
    });
    this.flushing = flushing;
    return flushing;
  }

  private async write(batch: HistoryEvent[]): Promise<boolean> {
    try {
      await this.ports.store.append(batch);
    } catch (error) {
      // The batch stays at the head of the buffer, in order, for the retry; of a batch written in
      // part, only what was not written (a retry must never write an event twice).
      if (error instanceof HistoryAppendError) this.buffer.splice(0, batch.length, ...error.unwritten);
      const delay = backoffDelay(this.options.retry, Math.min(this.consecutiveFailures, 30));
      this.consecutiveFailures++;
      this.retryNotBefore = this.ports.clock.now() + delay;
      this.writeFailureCount++;
      this.ports.onWriteFailure?.();
      this.ports.logger.error(
        { err: error, events: batch.length, buffered: this.buffer.length, retry_in_ms: delay },
        `history: writing ${batch.length} event(s) failed; retrying in ${delay} ms`,
      );
      return false;
    }
    this.consecutiveFailures = 0;
    this.retryNotBefore = 0;
    // Only this flush takes from the head, and new events only push at the tail.
    this.buffer.splice(0, batch.length);
    return true;
  }

  private async prune(): Promise<void> {
    if (this.pruning || this.stopped) return;
    this.pruning = true;
    try {
      const removed = await this.ports.store.prune(this.ports.clock.now(), this.options.retention);
      if (removed > 0) this.ports.logger.info({ removed }, `history: retention removed ${removed} event(s)`);
    } catch (error) {
      this.ports.logger.error(
        { err: error },
        'history: applying retention failed; trying again at the next prune',
      );
    } finally {
      this.pruning = false;
    }
  }

  private drop(count: number): void {
    // Logged once per 10,000 so a full buffer does not flood the log it would be read in.
    const before = this.droppedCount;
    this.droppedCount += count;
    this.ports.onDropped?.(count);
    if (Math.floor(before / 10_000) !== Math.floor(this.droppedCount / 10_000) || before === 0)
      this.ports.logger.warn(
        { dropped_total: this.droppedCount, buffered: this.buffer.length },
        `history: buffer full (${this.options.maxBuffered}); events dropped, ${this.droppedCount} so far`,
      );
  }
}
