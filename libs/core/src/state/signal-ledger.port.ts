import type { TradeSignal } from '../signals/trade-signal';

/** Where a signal is in its life. Every accepted signal ends in exactly one final status. */
export type SignalStatus = 'accepted' | 'approved' | 'executed' | 'failed' | 'rejected';

export const FINAL_SIGNAL_STATUSES: ReadonlySet<SignalStatus> = new Set(['executed', 'failed', 'rejected']);

export interface SignalLedgerRecord {
  id: string;
  status: SignalStatus;
  at: number;
  /** The whole signal on `accepted`, so an unfinished one can be taken up again after a restart. */
  signal?: TradeSignal;
  reason?: string;
  request_id?: string;
  ticket?: number;
}

/** A signal an earlier run accepted and never finished. */
export interface UnfinishedSignal {
  signal: TradeSignal;
  status: SignalStatus;
}

/**
 * The durable record of every signal id, so a signal executes at most once, across retries,
 * restarts and `kill -9`. `claim` is the at-most-once point: it answers false for an id seen before.
 */
export interface SignalLedger {
  has(id: string): boolean;
  status(id: string): SignalStatus | undefined;
  /** Durable when it resolves true; false when the id was seen before; rejects when it could not be written. */
  claim(signal: TradeSignal, status: 'accepted' | 'rejected', at: number, reason?: string): Promise<boolean>;
  /** Moves a known signal on; durable when it resolves. */
  update(
    id: string,
    status: SignalStatus,
    at: number,
    details?: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'>,
  ): Promise<void>;
}

export const SIGNAL_LEDGER = Symbol('SIGNAL_LEDGER');
