import type { TradeSignal } from '../signals/trade-signal';

/** Where a signal is in its life on one account. Every accepted (account, signal) ends in exactly one final status. */
export type SignalStatus = 'accepted' | 'approved' | 'executed' | 'failed' | 'rejected';

export const FINAL_SIGNAL_STATUSES: ReadonlySet<SignalStatus> = new Set(['executed', 'failed', 'rejected']);

/** How one account's work on a signal moved on (a line of the ledger's history). */
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

/** Which accounts a signal goes to: `accepted` trade it, `rejected` record it as rejected for `reason` (halted). */
export interface SignalTargets {
  accepted: readonly string[];
  rejected: readonly string[];
  /** Why the `rejected` accounts rejected it (`halted`). */
  reason?: string;
}

/** A signal an earlier run accepted for an account and that account never finished. */
export interface UnfinishedSignal {
  signal: TradeSignal;
  status: SignalStatus;
}

/**
 * The durable record of every signal id and of each account's work on it, so a signal executes
 * at most once per (account, signal), across retries, restarts and `kill -9` (docs/accounts.md).
 * `claim` is the at-most-once point: one durable record for the signal and all its accounts.
 */
export interface SignalLedger {
  /**
   * True when the id is known to have been claimed (a cheap, local answer); false when it is not, or
   * when this ledger cannot tell without asking further: `claim` decides then.
   */
  seen(id: string): boolean;
  /**
   * Durable when it resolves `claimed`; `duplicate` (nothing written) when the id was seen before,
   * whatever its accounts; rejects when it could not be written (the id is then not claimed).
   */
  claim(signal: TradeSignal, targets: SignalTargets, at: number): Promise<'claimed' | 'duplicate'>;
  /** Moves one account's work on a claimed signal on; durable when it resolves. */
  update(
    accountId: string,
    id: string,
    status: SignalStatus,
    at: number,
    details?: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'>,
  ): Promise<void>;
}

/** The ledger as one account's runtime sees it: its own work only. */
export interface AccountSignalLedger {
  update(
    id: string,
    status: SignalStatus,
    at: number,
    details?: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'>,
  ): Promise<void>;
}

export function accountLedger(ledger: SignalLedger, accountId: string): AccountSignalLedger {
  return { update: (id, status, at, details) => ledger.update(accountId, id, status, at, details) };
}

export const SIGNAL_LEDGER = Symbol('SIGNAL_LEDGER');
