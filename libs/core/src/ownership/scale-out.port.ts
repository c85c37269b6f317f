import type { UnfinishedSignal } from '../state/signal-ledger.port';
import type { AccountOwnership } from './account-ownership';
import type { OwnershipCounts, OwnershipListener } from './ownership-manager';

/** Work another process (or this one) accepted for an account, not yet taken up by its owner. */
export type PendingWork = UnfinishedSignal & {
  accountId: string;
  /** The signal's place in arrival order across all processes. */
  seq: number;
};

/** A halt or a resume asked on any process, for the account's owner to carry out (docs/scale-out.md). */
export type AccountCommand =
  | { kind: 'halt'; reason: string; by: string; scope?: 'all' }
  | { kind: 'resume'; reviewedBy: string; note: string; scope?: 'all' }
  | { kind: 'delete'; by: string };

export interface PendingCommand {
  id: number;
  accountId: string;
  command: AccountCommand;
}

/** What the owner answered, as the admin API shows it. */
export type CommandOutcome = Record<string, unknown>;

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
  /** Writes the command for the account's owner, wherever it runs (durable when it resolves), and wakes it. */
  requestCommand(accountId: string, command: AccountCommand): Promise<number>;
  /** The owner's outcome of a command, waiting for it at most `waitMs`; undefined if not done by then. */
  commandOutcome(id: number, waitMs: number): Promise<CommandOutcome | undefined>;
  /** Commands not yet carried out for these accounts, oldest first. */
  pendingCommands(accountIds: readonly string[]): Promise<PendingCommand[]>;
  /** Records the outcome (fenced: only the owner at its epoch); rejects with OwnershipLostError otherwise. */
  completeCommand(command: PendingCommand, outcome: CommandOutcome): Promise<void>;
  onCommand(listener: () => void): void;
  /**
   * A role only one process may play at a time (`telegram`: the Bot API allows one poller per
   * bot), held under a lease like an account's: takes or renews it; false while another holds it.
   */
  holdRole(role: string, ttlMs: number): Promise<boolean>;
  releaseRole(role: string): Promise<void>;
  /** Reads the accounts' rows into the process's account set now (also done every 2 s and when notified). */
  readAccounts(): Promise<void>;
  /** Adds or changes an account's row (its accounts-file entry); every process reads it within seconds. */
  putAccount(accountId: string, entry: Record<string, unknown>): Promise<'created' | 'updated'>;
  /** Removes the account's row: by its owner only (fenced), once it found it flat. */
  deleteAccount(accountId: string): Promise<boolean>;
  /**
   * The accounts halted now, as the database knows: a latch their owner wrote, or a halt asked and
   * not carried out yet. For the intake of any process (it records signals for them as rejected).
   */
  haltedAccounts(): Promise<ReadonlySet<string>>;
  /** The accounts of the database, with their owner (process id) and epoch, for the accounts API of any process. */
  owners(): Promise<{ accountId: string; owner: string | null; epoch: number }[]>;
  /** `fencedWrites`: writes refused for a stale epoch, by the database and by the bridges. */
  counts(): OwnershipCounts & { fencedWrites: { database: number; bridge: number } };
}

export const SCALE_OUT = Symbol('SCALE_OUT');
