import type { UnfinishedSignal } from '../state/signal-ledger.port';
import type { AccountOwnership } from './account-ownership';
import type { OwnershipCounts, OwnershipListener } from './ownership-manager';

/** Work another process (or this one) accepted for an account, not yet taken up by its owner. */
export type PendingWork = UnfinishedSignal & {
  accountId: string;
  /** The signal's place in arrival order across all processes. */
  seq: number;
};

/**
 * Several processes on one database (STATE_BACKEND=postgres, docs/scale-out.md), as the accounts
 * runtime sees it: which accounts this process owns (told through `listen`), the work accepted
 * for them anywhere (`pendingWork`, with `onWork` as the wake-up call), the hand-over on SIGTERM,
 * and what health and metrics read. Absent (null) with files.
 */
export interface ScaleOut extends AccountOwnership {
  listen(listener: OwnershipListener): void;
  /** Starts the ownership rounds; resolves after the first. */
  startOwning(): Promise<void>;
  /** SIGTERM: stop trading every owned account and release its lease, so the others take it at once. */
  handOver(): Promise<void>;
  /** Accepted work of these accounts, of signals after `afterSeq`, oldest first, a bounded number at a time. */
  pendingWork(accountIds: readonly string[], afterSeq?: number): Promise<PendingWork[]>;
  onWork(listener: () => void): void;
  databaseAnswers(timeoutMs: number): Promise<boolean>;
  /** `fencedWrites`: writes refused for a stale epoch, by the database and by the bridges. */
  counts(): OwnershipCounts & { fencedWrites: { database: number; bridge: number } };
}

export const SCALE_OUT = Symbol('SCALE_OUT');
