import type { UnfinishedSignal } from '../state/signal-ledger.port';
import type { AccountOwnership } from './account-ownership';
import type { OwnershipCounts, OwnershipListener } from './ownership-manager';

/** Work another process (or this one) accepted for an account, not yet taken up by its owner. */
export type PendingWork = UnfinishedSignal & { accountId: string };

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
  pendingWork(accountIds: readonly string[]): Promise<PendingWork[]>;
  onWork(listener: () => void): void;
  databaseAnswers(timeoutMs: number): Promise<boolean>;
  counts(): OwnershipCounts & { fencedWrites: number };
}

export const SCALE_OUT = Symbol('SCALE_OUT');
