import type { Pool } from 'pg';

/** One step of the schema: applied once, in order, in a transaction of its own. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The schema of the PostgreSQL state backend (docs/scale-out.md), in code so the built service
 * needs no migration files on disk. Never edit an applied migration: add the next one.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, processes, leases, signals, signal work, risk state, audit',
    sql: `
      CREATE TABLE accounts (
        id text PRIMARY KEY,
        config jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE processes (
        id text PRIMARY KEY,
        expires_at timestamptz NOT NULL
      );
      CREATE TABLE leases (
        account_id text PRIMARY KEY,
        owner text NULL,
        epoch bigint NOT NULL DEFAULT 0,
        expires_at timestamptz NOT NULL
      );
      -- seq: arrival order (received_at is one value for a whole batch of claims).
      CREATE TABLE signals (
        id text PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        body jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE signal_work (
        account_id text NOT NULL,
        signal_id text NOT NULL REFERENCES signals (id),
        status text NOT NULL CHECK (status IN ('accepted', 'approved', 'executed', 'failed', 'rejected')),
        at bigint NOT NULL,
        reason text,
        request_id text,
        ticket bigint,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, signal_id)
      );
      -- The work owners still have to do: small, whatever the history.
      CREATE INDEX signal_work_unfinished ON signal_work (account_id, signal_id)
        WHERE status IN ('accepted', 'approved');
      CREATE TABLE risk_state (
        account_id text PRIMARY KEY,
        state jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE audit (
        seq bigserial PRIMARY KEY,
        account_id text NOT NULL,
        at bigint NOT NULL,
        entry jsonb NOT NULL
      );
      CREATE INDEX audit_account_seq ON audit (account_id, seq);
    `,
  },
  {
    version: 2,
    name: 'account commands: a halt or a resume asked on any process, for the owner to carry out',
    sql: `
      CREATE TABLE account_commands (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('halt', 'resume')),
        body jsonb NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now(),
        done_at timestamptz,
        outcome jsonb
      );
      CREATE INDEX account_commands_pending ON account_commands (account_id, id) WHERE done_at IS NULL;
    `,
  },
  {
    version: 3,
    name: "paper books: a paper account's snapshot and the changes after it, for whichever process owns it",
    sql: `
      CREATE TABLE paper_books (
        account_id text PRIMARY KEY,
        last_change bigint NOT NULL,
        snapshot jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- The changes since the snapshot, by the account's change number (PaperChange.number).
      CREATE TABLE paper_changes (
        account_id text NOT NULL,
        number bigint NOT NULL,
        change jsonb NOT NULL,
        PRIMARY KEY (account_id, number)
      );
    `,
  },
  {
    version: 4,
    name: "history: every account's trading events and equity samples, kept for HISTORY_RETENTION_DAYS",
    sql: `
      CREATE TABLE history_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id text NOT NULL,
        at bigint NOT NULL,
        type text NOT NULL,
        payload jsonb NOT NULL
      );
      -- Reads are an account's window in time order; id breaks ties for keyset pagination.
      CREATE INDEX history_events_account_at ON history_events (account_id, at, id);
      -- Retention deletes by age across accounts.
      CREATE INDEX history_events_at ON history_events (at);
    `,
  },
  {
    version: 5,
    name: 'account commands: delete (by the owner, once the account is flat)',
    sql: `
      ALTER TABLE account_commands DROP CONSTRAINT account_commands_kind_check;
      ALTER TABLE account_commands ADD CONSTRAINT account_commands_kind_check
        CHECK (kind IN ('halt', 'resume', 'delete'));
    `,
  },
];

/** Any fixed number: every process of the service takes this lock to migrate, one at a time. */
const MIGRATION_LOCK_KEY = 7_019_201_511;

/**
 * Brings the schema up to date. Safe when several processes start at once: each migration runs
 * in its own transaction under a transaction-scoped advisory lock, and is skipped when
 * `schema_migrations` already records it. Resolves with the versions this call applied.
 */
export async function migrate(pool: Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  const client = await pool.connect();
  let broken: unknown;
  try {
    for (const migration of migrations) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
        // Created under the lock: two concurrent CREATE TABLE IF NOT EXISTS can still collide.
        await client.query(
          `CREATE TABLE IF NOT EXISTS schema_migrations (
             version integer PRIMARY KEY,
             name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
           )`,
        );
        const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [
          migration.version,
        ]);
        if (done.rowCount === 0) {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
            migration.version,
            migration.name,
          ]);
          applied.push(migration.version);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          // The connection is unusable: do not hand it back to the pool.
          broken = rollbackError;
        });
        throw new Error(`migration ${migration.version} (${migration.name}) failed: ${String(error)}`, {
          cause: error,
        });
      }
    }
  } finally {
    client.release(broken instanceof Error ? broken : undefined);
  }
  return applied;
}
