import { Pool } from 'pg';
import type { HistoryEvent } from '@app/core';
import { received } from '../testing/history-store-contract';
import { PostgresHistoryStore } from './postgres-history-store';
import { migratedDatabase } from './postgres-state-backend.test-helpers';
import { startThrowawayPostgres, type ThrowawayPostgres } from './testing/throwaway-postgres';

let server: ThrowawayPostgres;

beforeAll(async () => {
  server = await startThrowawayPostgres();
});

afterAll(async () => {
  await server?.stop();
});

// One event whose text holds a NUL (a bridge's `{"error":"...\u0000..."}` refusal, a halt reason
// typed through the API) cannot go into jsonb: the whole one-INSERT batch is refused, every
// retry fails the same way, and every other account's history behind it is held, then dropped.
it('writes a batch in which one event carries a NUL character', async () => {
  const pool = new Pool({ connectionString: await migratedDatabase(server), max: 2 });
  try {
    const store = new PostgresHistoryStore(pool);
    const at = Date.UTC(2026, 10, 30, 9);
    const poisoned: HistoryEvent = {
      type: 'equity_read_failed',
      at,
      account_id: 'acct-b',
      payload: { consecutive_failures: 1, error: 'bridge refused: bad\u0000gateway' },
    };
    await expect(store.append([received('acct-a', at, 's-1'), poisoned])).resolves.toBeUndefined();
    const read: HistoryEvent[] = [];
    for await (const e of store.read('acct-a', { from: at, to: at + 1 })) read.push(e);
    expect(read).toHaveLength(1);
  } finally {
    await pool.end();
  }
});
