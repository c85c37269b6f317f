import type { Pool } from 'pg';
import { PostgresLeaseStore } from './postgres-lease-store';
import type { PostgresStateBackend } from './postgres-state-backend';
import {
  PG_T0 as T0,
  leasedAccountsPerTest,
  outcome,
  untilWaitingOnLocks,
} from './postgres-state-backend.test-helpers';

/**
 * The group-committed ledger updates beside what else locks lease rows and what the database
 * refuses (found by a second read): one update's bad value fails only that update, and a
 * renewal of this process's leases never deadlocks with a batch.
 */
const ME = 'process-me';
const EPOCH = 5;
const ACCOUNTS = ['acct-1', 'acct-2', 'acct-3', 'acct-4'];

describe('PostgresSignalLedger batch: bad values and lock order', () => {
  const database = leasedAccountsPerTest(ME, EPOCH, ACCOUNTS);
  let pool: Pool;
  let backend: PostgresStateBackend;

  beforeEach(() => {
    ({ pool, backend } = database());
  });

  it("one account's update the database refuses does not fail the other accounts' updates of its batch", async () => {
    const outcomes = await Promise.all([
      outcome(backend.ledger.update('acct-1', 's-1', 'executed', T0 + 1)), // alone: nothing queued yet
      outcome(backend.ledger.update('acct-2', 's-1', 'executed', T0 + 1)),
      // A ticket a bigint cannot hold: the database refuses the statement.
      outcome(backend.ledger.update('acct-3', 's-1', 'executed', T0 + 1, { ticket: 1e20 })),
      // A NUL in a free-text reason ("rejected by <name>"): stored as U+FFFD, as in jsonb.
      outcome(backend.ledger.update('acct-4', 's-1', 'rejected', T0 + 1, { reason: 'rejected by x\u0000' })),
    ]);
    expect(outcomes[0]).toBe('written');
    expect(outcomes[1]).toBe('written');
    expect(outcomes[2]).toMatchObject({ code: '22003' }); // numeric value out of range
    expect(outcomes[3]).toBe('written');
    const reason = await pool.query<{ reason: string }>(
      `SELECT reason FROM signal_work WHERE account_id = 'acct-4' AND signal_id = 's-1'`,
    );
    expect(reason.rows[0]?.reason).toBe('rejected by x\uFFFD');
  });

  it('a renewal and a batch of updates both lock lease rows in account order, so they cannot deadlock', async () => {
    const store = new PostgresLeaseStore(pool);
    // A renewal extends only leases of accounts that exist.
    await pool.query(
      `INSERT INTO accounts (id, config) SELECT id, '{}'::jsonb FROM unnest($1::text[]) AS id`,
      [ACCOUNTS],
    );
    await backend.ledger.update('acct-1', 's-1', 'executed', T0 + 1); // the next two share a batch
    /** Whether acct-4's lease row is locked by someone now (a lock that conflicts with any update). */
    const acct4Locked = async () => {
      const probe = await pool.connect();
      try {
        await probe.query('BEGIN');
        return await probe.query(`SELECT 1 FROM leases WHERE account_id = 'acct-4' FOR UPDATE NOWAIT`).then(
          () => false,
          (error: { code?: string }) => error.code === '55P03', // lock_not_available
        );
      } finally {
        await probe.query('ROLLBACK');
        probe.release();
      }
    };
    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM leases WHERE account_id = 'acct-2' FOR UPDATE`);
      // Each names acct-4 before acct-2; waiting for acct-2, neither may hold acct-4 already.
      const renewal = store.renew(
        ME,
        [
          { accountId: 'acct-4', epoch: EPOCH },
          { accountId: 'acct-2', epoch: EPOCH },
        ],
        60_000,
      );
      await waitingOnLocks(1);
      expect(await acct4Locked()).toBe(false);
      const batch = Promise.all([
        outcome(backend.ledger.update('acct-4', 's-1', 'executed', T0 + 1)),
        outcome(backend.ledger.update('acct-2', 's-1', 'executed', T0 + 1)),
      ]);
      await waitingOnLocks(2);
      expect(await acct4Locked()).toBe(false);
      await blocker.query('COMMIT');
      expect((await renewal).renewed.map((lease) => lease.accountId).sort()).toEqual(['acct-2', 'acct-4']);
      expect(await batch).toEqual(['written', 'written']);
    } finally {
      blocker.release();
    }
  });

  /** Until `n` statements of this database wait on a lock. */
  const waitingOnLocks = (n: number) => untilWaitingOnLocks(pool, n);
});
