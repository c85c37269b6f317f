import type { TradeSignal } from '@app/core';
import { Pool } from 'pg';
import { migrate } from './migrations';
import { PostgresStateBackend } from './postgres-state-backend';
import type { ThrowawayPostgres } from './testing/throwaway-postgres';

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
