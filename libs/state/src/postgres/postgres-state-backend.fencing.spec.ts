import { OwnershipLostError, type AccountState, type RiskState } from '@app/core';
import { Pool } from 'pg';
import { PostgresStateBackend } from './postgres-state-backend';
import {
  PG_T0 as T0,
  backendFor,
  holdLease,
  leasedAccountsPerTest,
  outcome,
  pgSignal as signal,
  untilWaitingOnLocks,
} from './postgres-state-backend.test-helpers';

const ME = 'process-me';
const ACCOUNT = 'acct-1';
const EPOCH = 5;

const saved: RiskState = {
  baselineEquity: 10_000,
  baselineSetAt: T0,
  peakEquity: 10_000,
  daily: null,
  halt: null,
};

describe('PostgresStateBackend: fenced writes', () => {
  const database = leasedAccountsPerTest(ME, EPOCH, [ACCOUNT]);
  let pool: Pool;
  let backend: PostgresStateBackend;
  let account: AccountState;

  beforeEach(async () => {
    ({ pool, backend } = database());
    account = await backend.openAccount(ACCOUNT);
    await account.riskState.save(saved);
    await account.audit.append({ at: T0, action: 'started' });
  });

  /** Every kind of write, each of which must be refused and change nothing. */
  const writes = () => ({
    ledger: () => backend.ledger.update(ACCOUNT, 's-1', 'executed', T0 + 1, { ticket: 9 }),
    riskState: () => account.riskState.save({ ...saved, halt: null, baselineEquity: 1 }),
    audit: () => account.audit.append({ at: T0 + 1, action: 'halted' }),
  });

  async function expectRefusedAndNothingChanged(): Promise<void> {
    const before = backend.fencedWrites;
    for (const [kind, write] of Object.entries(writes())) {
      const outcome = await write().then(
        () => `${kind}: written`,
        (error: unknown) => error,
      );
      expect(outcome).toBeInstanceOf(OwnershipLostError);
      expect(outcome).toMatchObject({ accountId: ACCOUNT, where: 'database' });
    }
    expect(backend.fencedWrites).toBe(before + 3);
    expect((await backend.openAccount(ACCOUNT)).loaded.unfinished).toEqual([
      { signal: signal('s-1'), status: 'accepted' },
    ]);
    expect(await backend.riskStateOf(ACCOUNT)).toEqual({ kind: 'loaded', value: saved });
    expect(await backend.auditOf(ACCOUNT, 10)).toEqual([{ at: T0, action: 'started' }]);
  }

  it('writes while the lease is held at its epoch, and counts no fenced write', async () => {
    for (const write of Object.values(writes())) await write();
    expect(backend.fencedWrites).toBe(0);
    expect((await backend.openAccount(ACCOUNT)).loaded.unfinished).toEqual([]);
    expect(await backend.auditOf(ACCOUNT, 10)).toHaveLength(2);
  });

  it('refuses every write with a stale epoch (another process took the account over since)', async () => {
    await holdLease(pool, ACCOUNT, ME, EPOCH + 1);
    await expectRefusedAndNothingChanged();
  });

  it('refuses every write when another process owns the account at the same epoch number', async () => {
    await holdLease(pool, ACCOUNT, 'process-other', EPOCH);
    await expectRefusedAndNothingChanged();
  });

  it('refuses every write once the lease expired by the database clock, even with no new owner', async () => {
    await pool.query(`UPDATE leases SET expires_at = now() - interval '1 second' WHERE account_id = $1`, [
      ACCOUNT,
    ]);
    await expectRefusedAndNothingChanged();
  });

  it('refuses every write of an account it does not believe it holds, without asking the database', async () => {
    backend = backendFor(pool, ME, new Map());
    account = await backend.openAccount(ACCOUNT);
    await expectRefusedAndNothingChanged();
  });

  it('refuses writes of an account that has no lease row at all', async () => {
    await pool.query('DELETE FROM leases WHERE account_id = $1', [ACCOUNT]);
    await expectRefusedAndNothingChanged();
  });

  it('waits for a takeover in flight and then refuses, instead of writing under the old epoch', async () => {
    const takeover = await pool.connect();
    try {
      await takeover.query('BEGIN');
      await takeover.query(
        `UPDATE leases SET owner = 'process-new', epoch = epoch + 1 WHERE account_id = $1`,
        [ACCOUNT],
      );
      const write = outcome(account.audit.append({ at: T0 + 1, action: 'halted' }));
      // Only once the write waits on the lease row does the takeover commit.
      await untilWaitingOnLocks(pool);
      await takeover.query('COMMIT');
      expect(await write).toBeInstanceOf(OwnershipLostError);
    } finally {
      takeover.release();
    }
    expect(await backend.auditOf(ACCOUNT, 10)).toEqual([{ at: T0, action: 'started' }]);
  });

  it('rejects with the database error, not a lost lease, when the database cannot be reached', async () => {
    const unreachable = new Pool({ host: '127.0.0.1', port: 1, user: 'x', database: 'x', max: 1 });
    try {
      const cut = backendFor(unreachable, ME, new Map([[ACCOUNT, EPOCH]]));
      const outcome = await cut.ledger.update(ACCOUNT, 's-1', 'executed', T0 + 1).then(
        () => 'written',
        (error: unknown) => error,
      );
      // Node's own errors come from another realm than jest's Error: look at the code instead.
      expect(outcome).toMatchObject({ code: 'ECONNREFUSED' });
      expect(outcome).not.toBeInstanceOf(OwnershipLostError);
      expect(cut.fencedWrites).toBe(0);
    } finally {
      await unreachable.end();
    }
  });

  it('rejects an update of work that was never claimed for the account, writing nothing', async () => {
    await expect(backend.ledger.update(ACCOUNT, 'never-claimed', 'executed', T0)).rejects.toThrow(
      /never claimed/,
    );
    expect(backend.fencedWrites).toBe(0);
  });

  describe('ledger updates written together (one statement for many accounts)', () => {
    const OTHERS = ['acct-2', 'acct-3', 'acct-4'];
    let epochs: Map<string, number>;

    beforeEach(async () => {
      epochs = new Map([[ACCOUNT, EPOCH]]);
      for (const other of OTHERS) {
        await holdLease(pool, other, ME, EPOCH);
        epochs.set(other, EPOCH);
      }
      backend = backendFor(pool, ME, epochs);
      for (let i = 2; i <= 4; i++)
        await backend.ledger.claim(signal(`s-${i}`), { accepted: [ACCOUNT, ...OTHERS], rejected: [] }, T0);
    });

    const statusOf = async (accountId: string, signalId: string) =>
      (
        await pool.query<{ status: string; ticket: string | null }>(
          'SELECT status, ticket FROM signal_work WHERE account_id = $1 AND signal_id = $2',
          [accountId, signalId],
        )
      ).rows[0];

    it('refuses only the updates of the account whose lease was lost; the others of the batch are written', async () => {
      await holdLease(pool, 'acct-3', 'process-other', EPOCH + 1);
      const outcomes = await Promise.all(
        [ACCOUNT, ...OTHERS].map((accountId) =>
          backend.ledger.update(accountId, 's-2', 'executed', T0 + 1, { ticket: 7 }).then(
            () => 'written',
            (error: unknown) => error,
          ),
        ),
      );
      expect(outcomes[0]).toBe('written');
      expect(outcomes[1]).toBe('written');
      expect(outcomes[2]).toBeInstanceOf(OwnershipLostError);
      expect(outcomes[2]).toMatchObject({ accountId: 'acct-3', where: 'database' });
      expect(outcomes[3]).toBe('written');
      expect(backend.fencedWrites).toBe(1);
      expect(await statusOf('acct-3', 's-2')).toEqual({ status: 'accepted', ticket: null });
      expect(await statusOf('acct-4', 's-2')).toEqual({ status: 'executed', ticket: '7' });
    });

    it('refuses an update asked at an epoch older than the one the process now holds, in the same batch as a newer one', async () => {
      // A batch in flight, held up by a lock on its lease row, so the next two share one batch.
      const blocker = await pool.connect();
      let inFlight: Promise<void>;
      let older: Promise<unknown>;
      let newer: Promise<void>;
      try {
        await blocker.query('BEGIN');
        await blocker.query(`SELECT 1 FROM leases WHERE account_id = 'acct-4' FOR UPDATE`);
        inFlight = backend.ledger.update('acct-4', 's-2', 'executed', T0 + 1);
        // Queued at EPOCH; then the process takes the account again at EPOCH + 1, before the batch runs.
        older = backend.ledger.update('acct-2', 's-2', 'executed', T0 + 1).then(
          () => 'written',
          (error: unknown) => error,
        );
        await holdLease(pool, 'acct-2', ME, EPOCH + 1);
        epochs.set('acct-2', EPOCH + 1);
        newer = backend.ledger.update('acct-2', 's-3', 'executed', T0 + 1);
        await blocker.query('COMMIT');
      } finally {
        blocker.release();
      }
      await inFlight;
      await expect(newer).resolves.toBeUndefined();
      expect(await older).toBeInstanceOf(OwnershipLostError);
      expect(await statusOf('acct-2', 's-2')).toEqual({ status: 'accepted', ticket: null });
      expect(await statusOf('acct-2', 's-3')).toEqual({ status: 'executed', ticket: null });
    });

    it('lands several updates of one (account, signal) in the order they were asked', async () => {
      const asked = [
        backend.ledger.update(ACCOUNT, 's-4', 'approved', T0 + 1),
        backend.ledger.update(ACCOUNT, 's-4', 'executed', T0 + 2, { ticket: 11 }),
        backend.ledger.update('acct-4', 's-4', 'approved', T0 + 1),
        backend.ledger.update('acct-4', 's-4', 'failed', T0 + 2, { reason: 'no_money' }),
      ];
      await Promise.all(asked);
      expect(await statusOf(ACCOUNT, 's-4')).toEqual({ status: 'executed', ticket: '11' });
      expect(await statusOf('acct-4', 's-4')).toEqual({ status: 'failed', ticket: null });
    });

    it('writes a thousand updates asked at once in a few statements, each settled', async () => {
      const ids = Array.from({ length: 250 }, (_, i) => `many-${i}`);
      for (const id of ids)
        await backend.ledger.claim(signal(id), { accepted: [ACCOUNT, ...OTHERS], rejected: [] }, T0);
      const queries = jest.spyOn(pool, 'query');
      await Promise.all(
        ids.flatMap((id) =>
          [ACCOUNT, ...OTHERS].map((a) => backend.ledger.update(a, id, 'executed', T0 + 1)),
        ),
      );
      // 1,000 updates, at most 500 a statement; the first goes alone (nothing else was queued yet).
      expect(queries.mock.calls.length).toBeLessThanOrEqual(4);
      queries.mockRestore();
      const left = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM signal_work WHERE signal_id LIKE 'many-%' AND status <> 'executed'`,
      );
      expect(left.rows[0]?.n).toBe(0);
    });
  });
});
