import { OwnershipLostError } from '@app/core';
import type { Pool, PoolClient } from 'pg';
import type { PostgresStateBackend } from './postgres-state-backend';
import {
  PG_T0 as T0,
  leasedAccountsPerTest,
  outcome,
  untilWaitingOnLocks,
} from './postgres-state-backend.test-helpers';

const ME = 'process-me';
const EPOCH = 5;
const ACCOUNTS = ['acct-1', 'acct-2', 'acct-3', 'acct-4'];

describe('PostgresSignalLedger: the fence of a batch of updates', () => {
  const database = leasedAccountsPerTest(ME, EPOCH, ACCOUNTS);
  let pool: Pool;
  let backend: PostgresStateBackend;

  beforeEach(() => {
    ({ pool, backend } = database());
  });

  const statusOf = async (accountId: string) =>
    (
      await pool.query<{ status: string }>(
        `SELECT status FROM signal_work WHERE account_id = $1 AND signal_id = 's-1'`,
        [accountId],
      )
    ).rows[0]?.status;

  const waitingOnALock = () => untilWaitingOnLocks(pool);

  /** A transaction of its own on one connection, rolled back if the test left it open. */
  async function inTransaction(run: (client: PoolClient) => Promise<void>): Promise<void> {
    const client = await pool.connect();
    try {
      await run(client);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }

  it('refuses the update of a lease expired by the database clock (owner and epoch still match); the rest of the batch is written', async () => {
    await pool.query(
      `UPDATE leases SET expires_at = now() - interval '1 millisecond' WHERE account_id = 'acct-3'`,
    );
    // The first goes alone; the other three share the next statement.
    const outcomes = await Promise.all(
      ACCOUNTS.map((account) => outcome(backend.ledger.update(account, 's-1', 'executed', T0 + 1))),
    );
    expect(outcomes[0]).toBe('written');
    expect(outcomes[1]).toBe('written');
    expect(outcomes[2]).toBeInstanceOf(OwnershipLostError);
    expect(outcomes[3]).toBe('written');
    expect(await statusOf('acct-3')).toBe('accepted');
    expect(await statusOf('acct-4')).toBe('executed');
  });

  it('a takeover committed while the batch waits on that lease: its update is refused, the others written', async () => {
    await inTransaction(async (head) => {
      await inTransaction(async (takeover) => {
        // acct-1's update goes alone and waits on `head`; acct-2 and acct-3 share the next batch.
        await head.query('BEGIN');
        await head.query(`SELECT 1 FROM leases WHERE account_id = 'acct-1' FOR UPDATE`);
        const first = outcome(backend.ledger.update('acct-1', 's-1', 'executed', T0 + 1));
        const taken = outcome(backend.ledger.update('acct-2', 's-1', 'executed', T0 + 1));
        const kept = outcome(backend.ledger.update('acct-3', 's-1', 'executed', T0 + 1));
        await takeover.query('BEGIN');
        await takeover.query(
          `UPDATE leases SET owner = 'process-new', epoch = epoch + 1 WHERE account_id = 'acct-2'`,
        );
        await head.query('COMMIT');
        expect(await first).toBe('written');
        await waitingOnALock(); // the batch of acct-2 and acct-3 on the takeover's row
        await takeover.query('COMMIT');
        expect(await taken).toBeInstanceOf(OwnershipLostError);
        expect(await kept).toBe('written');
      });
    });
    expect(await statusOf('acct-2')).toBe('accepted');
    expect(await statusOf('acct-3')).toBe('executed');
  });

  it("a renewal of this process's lease committed while the batch waits on it: the update is written", async () => {
    await inTransaction(async (renewal) => {
      await renewal.query('BEGIN');
      await renewal.query(
        `UPDATE leases SET expires_at = now() + interval '2 hours' WHERE account_id = 'acct-2' AND owner = $1`,
        [ME],
      );
      const written = outcome(backend.ledger.update('acct-2', 's-1', 'executed', T0 + 1));
      await waitingOnALock();
      await renewal.query('COMMIT');
      expect(await written).toBe('written');
    });
    expect(await statusOf('acct-2')).toBe('executed');
  });

  it('a batch the database refuses settles all its updates and does not stall the ones after it', async () => {
    // A ticket that is not an integer: PostgreSQL refuses the whole statement.
    const refused = await outcome(
      backend.ledger.update('acct-1', 's-1', 'executed', T0 + 1, { ticket: 1.5 }),
    );
    expect(refused).toMatchObject({ code: '22P02' });
    expect(refused).not.toBeInstanceOf(OwnershipLostError);
    await expect(backend.ledger.update('acct-2', 's-1', 'executed', T0 + 1)).resolves.toBeUndefined();
    await expect(backend.ledger.update('acct-1', 's-1', 'failed', T0 + 2)).resolves.toBeUndefined();
    expect(await statusOf('acct-1')).toBe('failed');
    expect(backend.fencedWrites).toBe(0);
  });

  it('an update of an account released between the ask and the batch is refused (no write after release)', async () => {
    await inTransaction(async (head) => {
      await head.query('BEGIN');
      await head.query(`SELECT 1 FROM leases WHERE account_id = 'acct-1' FOR UPDATE`);
      const first = outcome(backend.ledger.update('acct-1', 's-1', 'executed', T0 + 1));
      const released = outcome(backend.ledger.update('acct-4', 's-1', 'executed', T0 + 1));
      // Released by this process (shed) after the update was asked, before its batch runs.
      await pool.query(`UPDATE leases SET owner = NULL, expires_at = now() WHERE account_id = 'acct-4'`);
      await head.query('COMMIT');
      expect(await first).toBe('written');
      expect(await released).toBeInstanceOf(OwnershipLostError);
    });
    expect(await statusOf('acct-4')).toBe('accepted');
  });
});
