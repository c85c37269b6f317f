import { Pool } from 'pg';
import { describeHistoryStoreContract } from '../testing/history-store-contract';
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

describeHistoryStoreContract('PostgreSQL', async () => {
  const url = await migratedDatabase(server);
  let pool = new Pool({ connectionString: url, max: 2 });
  return {
    store: new PostgresHistoryStore(pool),
    reopen: async () => {
      await pool.end();
      pool = new Pool({ connectionString: url, max: 2 });
      return new PostgresHistoryStore(pool);
    },
    teardown: () => pool.end(),
  };
});
