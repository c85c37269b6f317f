import type { TradingEvent, TradingEventType } from '../events/trading-events';

/** One account's trading event as history keeps it (docs/history.md). */
export type HistoryEvent = TradingEvent & { account_id: string };

/** A window of history: epoch ms, `from` included, `to` excluded. */
export interface HistoryWindow {
  from: number;
  to: number;
}

/** How long history is kept (HISTORY_RETENTION_DAYS), and how long every equity sample is. */
export interface RetentionPolicy {
  /** Older than this (ms before now) is removed. */
  retainMs: number;
  /** Equity samples older than this are thinned to at least one per minute (24 h). */
  denseEquityMs: number;
}

/**
 * Per-account durable history of trading events and equity samples (`equity_sample` events),
 * behind one narrow port: files (append-only per account, rotated) or PostgreSQL (tables). Off
 * the signal path: the recorder batches into `append` and counts failures; nothing that trades
 * ever waits for it.
 */
export interface HistoryStore {
  /** Durable when it resolves; rejects when it could not be written (the recorder counts and logs). */
  append(events: readonly HistoryEvent[]): Promise<void>;
  /** The account's events in the window, oldest first, optionally of these types only, a page at a time (bounded memory). */
  read(
    accountId: string,
    window: HistoryWindow,
    types?: readonly TradingEventType[],
  ): AsyncIterable<HistoryEvent>;
  /** Applies the retention policy at `now`; resolves with how many events it removed. */
  prune(now: number, policy: RetentionPolicy): Promise<number>;
}

export const HISTORY_STORE = Symbol('HISTORY_STORE');

/**
 * An append that wrote part of its events durably (files: each account's day file on its own):
 * `unwritten` are those that did not reach the store, the only ones a retry may write again.
 */
export class HistoryAppendError extends Error {
  override readonly name = 'HistoryAppendError';

  constructor(
    readonly unwritten: readonly HistoryEvent[],
    override readonly cause: unknown,
  ) {
    super(
      `history: ${unwritten.length} event(s) not written: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}
