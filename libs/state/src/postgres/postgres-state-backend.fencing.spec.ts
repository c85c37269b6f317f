import { OwnershipLostError, type AccountState, type RiskState } from '@app/core';
import { Pool } from 'pg';
import { PostgresStateBackend } from './postgres-state-backend';
import {
  PG_T0 as T0,
  backendFor,
  holdLease,
  migratedDatabase,
  pgSignal as signal,
} from './postgres-state-backend.test-helpers';
import { startThrowawayPostgres, type ThrowawayPostgres } from './testing/throwaway-postgres';

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

/** Asks `condition` again until it holds (each ask is a round trip to the database, so no busy spin). */
async function until(condition: () => Promise<boolean>, attempts = 5_000): Promise<void> {
  for (let i = 0; i < attempts; i++) if (await condition()) return;
  throw new Error(`condition not met after ${attempts} attempts`);
}

describe('PostgresStateBackend: fenced writes', () => {
  let server: ThrowawayPostgres;
  let pool: Pool;
  let backend: PostgresStateBackend;
  let account: AccountState;

  beforeAll(async () => {
    server = await startThrowawayPostgres();
  });

  afterAll(async () => {
    await server?.stop();
  });

  beforeEach(async () => {
    pool = new Pool({ connectionString: await migratedDatabase(server), max: 4 });
    await holdLease(pool, ACCOUNT, ME, EPOCH);
    backend = backendFor(pool, ME, new Map([[ACCOUNT, EPOCH]]));
    await backend.ledger.claim(signal('s-1'), { accepted: [ACCOUNT], rejected: [] }, T0);
    account = await backend.openAccount(ACCOUNT);
    await account.riskState.save(saved);
    await account.audit.append({ at: T0, action: 'started' });
  });

  afterEach(async () => {
    await pool.end();
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
      const write = account.audit.append({ at: T0 + 1, action: 'halted' }).then(
        () => 'written',
        (error: unknown) => error,
      );
      // Only once the write waits on the lease row does the takeover commit.
      await until(async () => {
        const waiting = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return (waiting.rows[0]?.n ?? 0) > 0;
      });
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
});
