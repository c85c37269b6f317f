import {
  OwnershipLostError,
  PaperAccount,
  parsePaperAccountSnapshot,
  parsePaperChange,
  type PaperAccountOptions,
  type PaperAccountSnapshot,
  type PaperAccountStore,
  type PaperChange,
} from '@app/core';
import type { LeaseFence } from './lease-fence';
import { jsonbText } from './jsonb-text';

/** Changes recorded between two snapshots while the account is held: bounds what the next owner replays. */
const DEFAULT_COMPACT_EVERY = 1_000;

export interface PostgresPaperAccountStoreOptions {
  /** Default 1,000. */
  compactEvery?: number;
  /**
   * A write of the book was refused: this process no longer holds the account's lease at its
   * epoch (the account stops here; the gateway answered `unknown_outcome` for a trade it concerned).
   */
  onFenced?: (error: OwnershipLostError) => void;
  /** A snapshot taken while trading failed: the changes stay, and the next snapshot (or owner) compacts them. */
  onProblem?: (error: Error) => void;
  /** What `open` found, for the log. */
  onOpened?: (found: PaperBookOpened) => void;
}

/** What `open` found, for the log. */
export interface PaperBookOpened {
  /** The saved snapshot's last change; undefined when the account had no book yet. */
  snapshotChange: number | undefined;
  /** Changes applied on top of the snapshot. */
  replayed: number;
  /** Changes beyond a missing one, not applied (their trades were answered `unknown_outcome`). */
  dropped: number;
  /** The change number the account was restored to. */
  lastChange: number;
}

/**
 * A paper account's book in PostgreSQL (STATE_BACKEND=postgres, docs/scale-out.md): a snapshot
 * row (`paper_books`) plus one row per change after it (`paper_changes`), so the book follows the
 * account to whichever process owns it. Every write is fenced by the account's lease
 * (`LeaseFence`): a process that lost the account cannot change its book, and a refused write
 * changes nothing.
 *
 * `open` restores the snapshot and applies the changes after it in number order, up to the first
 * number missing (as `FilePaperAccountStore` does, for the same reasons), then writes a new
 * snapshot and deletes every change row: those beyond a gap were answered `unknown_outcome`, and a
 * later change with their number must not meet them on the next replay. A crash between the two
 * writes is harmless (rows at or below the snapshot are skipped, those beyond the gap are beyond
 * the gap again). While trading, every `compactEvery` records a new snapshot replaces the rows at or
 * below it.
 *
 * The walks a book recorded are those of its last owner's market, not this process's: the account
 * joins this process's market at its current prices (see `OwnedPaperFleet.adopt` in libs/mt5), so they are not
 * restored.
 *
 * `close` waits for the records in flight and writes nothing more: it runs once this process has
 * given the account up, when a fenced write would be refused anyway; the next owner's `open`
 * compacts.
 */
export class PostgresPaperAccountStore implements PaperAccountStore {
  private account: PaperAccount | undefined;
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private sinceSnapshot = 0;
  private snapshotting: Promise<void> | undefined;
  private found: PaperBookOpened | undefined;
  private readonly compactEvery: number;

  constructor(
    private readonly fence: LeaseFence,
    readonly accountId: string,
    private readonly options: PostgresPaperAccountStoreOptions = {},
  ) {
    this.compactEvery = options.compactEvery ?? DEFAULT_COMPACT_EVERY;
    if (!Number.isInteger(this.compactEvery) || this.compactEvery < 1)
      throw new RangeError(`paper book compaction needs a positive whole number, got ${this.compactEvery}`);
  }

  /**
   * The account as it was after its last durable change. Throws an Error naming the account when
   * the book is damaged, and OwnershipLostError when this process does not hold the account.
   */
  async open(options: PaperAccountOptions): Promise<PaperAccount> {
    if (this.account !== undefined || this.closed)
      throw new Error(`paper book of ${this.accountId} was already opened`);
    const saved = await this.loadSnapshot();
    const lastSaved = saved?.lastChange ?? 0;
    const rows = await this.fence.pool.query<{ number: string; change: unknown }>(
      'SELECT number, change FROM paper_changes WHERE account_id = $1 AND number > $2 ORDER BY number',
      [this.accountId, lastSaved],
    );
    const changes: PaperChange[] = [];
    for (const row of rows.rows) {
      const number = Number(row.number);
      if (number !== lastSaved + changes.length + 1) break;
      changes.push({ ...this.parseChange(row.change, number), number, walks: {} });
    }
    // Symbols of changed positions stay quoted even when PAPER_SYMBOLS dropped them, as for the snapshot's.
    const symbols = [
      ...new Set([
        ...options.symbols,
        ...changes.flatMap((change) => (change.position ? [change.position.symbol] : [])),
      ]),
    ];
    const account =
      saved === undefined
        ? new PaperAccount({ ...options, symbols })
        : PaperAccount.restore({ ...saved, walks: {} }, { ...options, symbols });
    for (const change of changes) {
      try {
        account.applyChange(change);
      } catch (error) {
        throw new Error(
          `paper book of ${this.accountId}: change ${change.number} cannot be applied: ${messageOf(error)}`,
          { cause: error },
        );
      }
    }
    this.account = account;
    await this.writeSnapshot(account.snapshot(), 'every');
    this.found = {
      snapshotChange: saved?.lastChange,
      replayed: changes.length,
      dropped: rows.rows.length - changes.length,
      lastChange: account.lastChange,
    };
    this.options.onOpened?.(this.found);
    return account;
  }

  /** What the last `open` found, for the log; undefined before it. */
  get opened(): PaperBookOpened | undefined {
    return this.found;
  }

  /** Writes the change (again, unchanged, after a failure); resolves once it is committed. */
  record(change: PaperChange): Promise<void> {
    if (this.account === undefined || this.closed)
      return Promise.reject(new Error(`paper book of ${this.accountId} is not open`));
    const number = change.number;
    if (number === undefined) return Promise.reject(new Error('paper change without a number'));
    const written = this.fence
      .write(
        this.accountId,
        `INSERT INTO paper_changes (account_id, number, change) SELECT $1, $4, $5::jsonb FROM lease
         ON CONFLICT (account_id, number) DO UPDATE SET change = excluded.change`,
        [number, jsonbText(change)],
      )
      .then(
        () => this.recorded(),
        (error: unknown) => {
          throw this.fenced(error);
        },
      );
    const tracked = written.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(tracked);
    void tracked.then(() => this.inFlight.delete(tracked));
    return written;
  }

  /** Waits for the records and the snapshot in flight; later records fail. Writes nothing itself (see the class). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.inFlight]);
    await this.snapshotting;
  }

  /** After a committed record: a new snapshot once enough changes piled up (one at a time). */
  private recorded(): void {
    this.sinceSnapshot += 1;
    const account = this.account;
    if (account === undefined || this.closed || this.snapshotting !== undefined) return;
    if (this.sinceSnapshot < this.compactEvery) return;
    this.sinceSnapshot = 0;
    // Taken now, whole: it may hold changes whose rows are still in flight, which is fine (a row
    // at or below the snapshot is skipped on replay, and deleted by the next snapshot).
    const snapshot = account.snapshot();
    this.snapshotting = this.writeSnapshot(snapshot, snapshot.lastChange)
      .catch((error: unknown) => {
        const reason = this.fenced(error);
        if (!(reason instanceof OwnershipLostError)) this.options.onProblem?.(reason);
      })
      .finally(() => {
        this.snapshotting = undefined;
      });
  }

  /**
   * The snapshot, then the change rows it makes useless: those up to `upTo`, or every row at
   * `open`. Never replaces a newer snapshot.
   */
  private async writeSnapshot(snapshot: PaperAccountSnapshot, upTo: number | 'every'): Promise<void> {
    await this.fence.write(
      this.accountId,
      `INSERT INTO paper_books (account_id, last_change, snapshot) SELECT $1, $4, $5::jsonb FROM lease
       ON CONFLICT (account_id) DO UPDATE SET last_change = excluded.last_change,
         snapshot = excluded.snapshot, updated_at = now()
       WHERE paper_books.last_change <= excluded.last_change`,
      [snapshot.lastChange, jsonbText(snapshot)],
    );
    if (upTo === 'every')
      await this.fence.write(
        this.accountId,
        'DELETE FROM paper_changes WHERE account_id = $1 AND EXISTS (SELECT 1 FROM lease)',
        [],
      );
    else
      await this.fence.write(
        this.accountId,
        'DELETE FROM paper_changes WHERE account_id = $1 AND number <= $4 AND EXISTS (SELECT 1 FROM lease)',
        [upTo],
      );
  }

  private async loadSnapshot(): Promise<PaperAccountSnapshot | undefined> {
    const result = await this.fence.pool.query<{ snapshot: unknown }>(
      'SELECT snapshot FROM paper_books WHERE account_id = $1',
      [this.accountId],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    try {
      return parsePaperAccountSnapshot(row.snapshot);
    } catch (error) {
      throw new Error(`paper book of ${this.accountId} is corrupt: ${messageOf(error)}`, { cause: error });
    }
  }

  private parseChange(value: unknown, number: number): PaperChange {
    try {
      return parsePaperChange(value);
    } catch (error) {
      throw new Error(`paper book of ${this.accountId}: change ${number} is corrupt: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  /** The error as an Error; a refused write is also told to `onFenced`. */
  private fenced(error: unknown): Error {
    if (error instanceof OwnershipLostError) {
      this.options.onFenced?.(error);
      return error;
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
