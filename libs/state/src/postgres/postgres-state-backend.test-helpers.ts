import type { TradeSignal } from '@app/core';
import { Pool } from 'pg';
import { migrate } from './migrations';
import { PostgresStateBackend } from './postgres-state-backend';
import { startThrowawayPostgres, type ThrowawayPostgres } from './testing/throwaway-postgres';

/** Shared by the PostgreSQL state specs: a fixed time and a valid signal around it. */
export const PG_T0 = Date.UTC(2026, 10, 30, 9, 0, 0);

export function pgSignal(id: string, extra: Partial<TradeSignal> = {}): TradeSignal {
  return {
    id,
    instrument: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    createdAtMs: PG_T0 - 50,
    receivedAtMs: PG_T0,
    source: 'inbox',
    ...extra,
  };
}

/**
 * A throwaway PostgreSQL server for the tests of the enclosing `describe`: started before them,
 * stopped after them. Returns its getter (the server exists only once `beforeAll` ran).
 */
export function throwawayPostgresPerSuite(): () => ThrowawayPostgres {
  let server: ThrowawayPostgres | undefined;
  beforeAll(async () => {
    server = await startThrowawayPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined)
      throw new Error('the throwaway PostgreSQL server is not started (ask in a test or a hook)');
    return server;
  };
}

/** A fresh, migrated database of `server`: its url. */
export async function migratedDatabase(server: ThrowawayPostgres): Promise<string> {
  const url = await server.newDatabase();
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  return url;
}

/** Makes `owner` the holder of `accountId`'s lease at `epoch` for an hour, as the lease store would. */
export async function holdLease(pool: Pool, accountId: string, owner: string, epoch: number): Promise<void> {
  await pool.query(
    `INSERT INTO leases (account_id, owner, epoch, expires_at) VALUES ($1, $2, $3, now() + interval '1 hour')
     ON CONFLICT (account_id) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch,
       expires_at = excluded.expires_at`,
    [accountId, owner, epoch],
  );
}

/** A backend for `processId` that believes it holds each account at the epoch `epochs` names. */
export function backendFor(
  pool: Pool,
  processId: string,
  epochs: ReadonlyMap<string, number>,
): PostgresStateBackend {
  return new PostgresStateBackend({ pool, processId, epochOf: (accountId) => epochs.get(accountId) });
}

/**
 * A pool (4 connections) on a fresh, migrated database of `server` where `owner` holds each of
 * `accounts` at `epoch`, and `owner`'s backend, with the signal `s-1` claimed for all of them.
 */
export async function leasedAccountsWithSignal(
  server: ThrowawayPostgres,
  owner: string,
  epoch: number,
  accounts: readonly string[],
): Promise<{ pool: Pool; backend: PostgresStateBackend }> {
  const pool = new Pool({ connectionString: await migratedDatabase(server), max: 4 });
  for (const account of accounts) await holdLease(pool, account, owner, epoch);
  const backend = backendFor(pool, owner, new Map(accounts.map((account) => [account, epoch])));
  await backend.ledger.claim(pgSignal('s-1'), { accepted: [...accounts], rejected: [] }, PG_T0);
  return { pool, backend };
}

/**
 * For each test of the enclosing `describe`, `leasedAccountsWithSignal` on a fresh database of a
 * server started for the suite; its pool ends after the test. Returns its getter.
 */
export function leasedAccountsPerTest(
  owner: string,
  epoch: number,
  accounts: readonly string[],
): () => { pool: Pool; backend: PostgresStateBackend } {
  const server = throwawayPostgresPerSuite();
  let current: { pool: Pool; backend: PostgresStateBackend } | undefined;
  beforeEach(async () => {
    current = await leasedAccountsWithSignal(server(), owner, epoch, accounts);
  });
  afterEach(async () => {
    await current?.pool.end();
    current = undefined;
  });
  return () => {
    if (current === undefined) throw new Error('the leased accounts exist only within a test');
    return current;
  };
}

/** What a write settled to, without throwing: 'written', or the error it was refused with. */
export function outcome(write: Promise<unknown>): Promise<unknown> {
  return write.then(
    () => 'written',
    (error: unknown) => error,
  );
}

/** Asks `condition` again until it holds (each ask is a round trip to the database, so no busy spin). */
async function until(condition: () => Promise<boolean>, attempts = 5_000): Promise<void> {
  for (let i = 0; i < attempts; i++) if (await condition()) return;
  throw new Error(`condition not met after ${attempts} attempts`);
}

/** Until at least `n` statements of `pool`'s database wait on a lock. */
export function untilWaitingOnLocks(pool: Pool, n = 1): Promise<void> {
  return until(async () => {
    const waiting = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    return (waiting.rows[0]?.n ?? 0) >= n;
  });
}
