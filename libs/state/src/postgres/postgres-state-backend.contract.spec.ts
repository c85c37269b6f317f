import { Pool } from 'pg';
import { CONTRACT_ACCOUNTS, describeStateBackendContract } from '../testing/state-backend-contract';
import { backendFor, holdLease, migratedDatabase } from './postgres-state-backend.test-helpers';
import { startThrowawayPostgres, type ThrowawayPostgres } from './testing/throwaway-postgres';

const PROCESS = 'process-contract';
/** The test holds every contract account's lease, each at an epoch of its own. */
const EPOCHS = new Map(CONTRACT_ACCOUNTS.map((accountId, i) => [accountId, i + 1]));

let server: ThrowawayPostgres;

beforeAll(async () => {
  server = await startThrowawayPostgres();
});

afterAll(async () => {
  await server?.stop();
});

describeStateBackendContract('PostgreSQL', async () => {
  const url = await migratedDatabase(server);
  let pool = new Pool({ connectionString: url, max: 4 });
  for (const [accountId, epoch] of EPOCHS) await holdLease(pool, accountId, PROCESS, epoch);
  return {
    backend: backendFor(pool, PROCESS, EPOCHS),
    reopen: async () => {
      // A restart: a new pool and a new backend on the same database.
      await pool.end();
      pool = new Pool({ connectionString: url, max: 4 });
      return backendFor(pool, PROCESS, EPOCHS);
    },
    storedAudit: (accountId) => backendFor(pool, PROCESS, EPOCHS).auditOf(accountId, 1_000),
    teardown: () => pool.end(),
  };
});
