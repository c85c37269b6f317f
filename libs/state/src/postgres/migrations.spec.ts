import { Pool } from 'pg';
import { MIGRATIONS, migrate, type Migration } from './migrations';
import { startThrowawayPostgres, type ThrowawayPostgres } from './testing/throwaway-postgres';

const TABLES = [
  'account_commands',
  'accounts',
  'audit',
  'history_events',
  'leases',
  'paper_books',
  'paper_changes',
  'processes',
  'risk_state',
  'schema_migrations',
  'signal_work',
  'signals',
];

describe('migrate: the schema of the PostgreSQL state backend', () => {
  let server: ThrowawayPostgres;
  let pools: Pool[];

  beforeAll(async () => {
    server = await startThrowawayPostgres();
  });

  afterAll(async () => {
    await server?.stop();
  });

  beforeEach(() => {
    pools = [];
  });

  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
  });

  const poolOn = (url: string) => {
    const pool = new Pool({ connectionString: url, max: 2 });
    pools.push(pool);
    return pool;
  };

  const tablesOf = async (pool: Pool) =>
    (
      await pool.query<{ name: string }>(
        `SELECT table_name AS name FROM information_schema.tables
         WHERE table_schema = 'public' ORDER BY table_name`,
      )
    ).rows.map((row) => row.name);

  it('creates the schema once when two processes start at once on a fresh database', async () => {
    const url = await server.newDatabase();
    const [first, second] = await Promise.all([migrate(poolOn(url)), migrate(poolOn(url))]);
    // Each migration was applied by exactly one of them (they may share the work): neither failed.
    expect([...(first ?? []), ...(second ?? [])].sort((a, b) => a - b)).toEqual(
      MIGRATIONS.map((m) => m.version),
    );
    const pool = poolOn(url);
    expect(await tablesOf(pool)).toEqual(TABLES);
    const recorded = await pool.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(recorded.rows.map((row) => row.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('does nothing at a later start, and applies only the migrations added since', async () => {
    const url = await server.newDatabase();
    const pool = poolOn(url);
    expect(await migrate(pool)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await migrate(pool)).toEqual([]);

    const next: Migration = {
      version: 1_000,
      name: 'a later column',
      sql: 'ALTER TABLE accounts ADD COLUMN note text',
    };
    expect(await migrate(pool, [...MIGRATIONS, next])).toEqual([1_000]);
    expect(await migrate(pool, [...MIGRATIONS, next])).toEqual([]);
  });

  it('leaves nothing of a migration that fails, and says which one failed', async () => {
    const url = await server.newDatabase();
    const pool = poolOn(url);
    const broken: Migration = {
      version: 1_001,
      name: 'half done',
      sql: 'CREATE TABLE half (id int); SELECT no_such_function()',
    };
    await expect(migrate(pool, [...MIGRATIONS, broken])).rejects.toThrow(
      /migration 1001 \(half done\) failed/,
    );
    expect(await tablesOf(pool)).toEqual(TABLES);
    // The earlier migrations were kept: each has its own transaction.
    expect(await migrate(pool)).toEqual([]);
  });

  it('has the lease columns the lease store writes against', async () => {
    const pool = poolOn(await server.newDatabase());
    await migrate(pool);
    const columns = await pool.query<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_name = 'leases' ORDER BY ordinal_position`,
    );
    expect(columns.rows).toEqual([
      { column_name: 'account_id', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'owner', data_type: 'text', is_nullable: 'YES' },
      { column_name: 'epoch', data_type: 'bigint', is_nullable: 'NO' },
      { column_name: 'expires_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
    ]);
  });
});
