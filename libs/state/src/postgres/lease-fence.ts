import { OwnershipLostError } from '@app/core';
import type { Pool } from 'pg';

/** Who writes: this process, and the epoch at which it holds each account (undefined: not held). */
export interface LeaseFenceOptions {
  pool: Pool;
  processId: string;
  epochOf: (accountId: string) => number | undefined;
}

/**
 * The lease as this statement's snapshot of it, locked FOR SHARE so no change of owner commits
 * between the check and the write (a concurrent takeover is waited for, then re-checked).
 * Parameters: $1 account, $2 owner, $3 epoch. Times are the database's clock.
 */
const LEASE_HELD = `SELECT 1 FROM leases
  WHERE account_id = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()
  FOR SHARE`;

/**
 * Fenced writes (docs/scale-out.md, Ownership): every write of an account's state happens in the
 * same statement as the check that this process still holds the account's lease at the epoch it
 * believes it holds. A refused write changes nothing and rejects with OwnershipLostError; a
 * database that cannot be reached rejects with its own error (that is not a lost lease).
 */
export class LeaseFence {
  /** Writes refused for a stale epoch, another owner or an expired lease (trading_fenced_writes_total{where="database"}). */
  fencedWrites = 0;

  constructor(private readonly options: LeaseFenceOptions) {}

  get pool(): Pool {
    return this.options.pool;
  }

  /** This process's id, the lease owner a batched write checks for (see `heldAt`). */
  get processId(): string {
    return this.options.processId;
  }

  /**
   * The epoch this process holds `accountId` at, for a write that checks the lease itself (a
   * batch over many accounts, postgres-signal-ledger.ts); a refusal when it is not held.
   */
  heldAt(accountId: string): number | OwnershipLostError {
    return this.options.epochOf(accountId) ?? this.refused(accountId);
  }

  /** A batched write found the lease of `accountId` not held: counted like a refused `write`. */
  refusedInBatch(accountId: string): OwnershipLostError {
    return this.refused(accountId);
  }

  /**
   * Runs `write`, a data-modifying statement that reads `lease` (one row when held, none when not)
   * and takes its own parameters from $4 on, and answers how many rows it wrote.
   */
  async write(accountId: string, write: string, params: readonly unknown[]): Promise<number> {
    const epoch = this.options.epochOf(accountId);
    if (epoch === undefined) throw this.refused(accountId);
    const result = await this.options.pool.query<{ held: number; written: number }>(
      `WITH lease AS (${LEASE_HELD}), written AS (${write} RETURNING 1)
       SELECT (SELECT count(*) FROM lease)::int AS held, (SELECT count(*) FROM written)::int AS written`,
      [accountId, this.options.processId, epoch, ...params],
    );
    const row = result.rows[0];
    if (row === undefined || row.held === 0) throw this.refused(accountId);
    return row.written;
  }

  private refused(accountId: string): OwnershipLostError {
    this.fencedWrites++;
    return new OwnershipLostError(accountId, 'database');
  }
}
