import type { Pool } from 'pg';
import type { LeaseFence } from './lease-fence';
import { jsonbText } from './jsonb-text';

/** Notified when an account row is added, changed or removed: every process reads the rows at once. */
export const ACCOUNTS_CHANNEL = 'trading_accounts';

export interface AccountRow {
  id: string;
  /** The account's entry as in the accounts file (secrets by name only). */
  entry: Record<string, unknown>;
}

/**
 * The accounts as rows (docs/scale-out.md): ACCOUNTS_FILE's entries are upserted at every start,
 * the accounts API puts and deletes one at run time, and every process reads them all (at once
 * when notified, every two seconds anyway). A row's lease stays when the row goes, so an account
 * added again gets a higher epoch than any bridge has seen.
 */
export class PostgresAccounts {
  constructor(
    private readonly pool: Pool,
    private readonly fence: LeaseFence,
  ) {}

  async upsertAll(entries: readonly AccountRow[]): Promise<void> {
    if (entries.length === 0) return;
    await this.pool.query(
      `INSERT INTO accounts (id, config)
       SELECT id, entry FROM unnest($1::text[], $2::jsonb[]) AS given(id, entry)
       ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, updated_at = now()
         WHERE accounts.config IS DISTINCT FROM EXCLUDED.config`,
      [entries.map((row) => row.id), entries.map((row) => jsonbText(row.entry))],
    );
    await this.pool.query(`SELECT pg_notify('${ACCOUNTS_CHANNEL}', '')`);
  }

  async put(row: AccountRow): Promise<'created' | 'updated'> {
    const result = await this.pool.query<{ created: boolean }>(
      `WITH before AS (SELECT 1 FROM accounts WHERE id = $1),
       written AS (
         INSERT INTO accounts (id, config) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, updated_at = now()
         RETURNING id
       )
       SELECT NOT EXISTS (SELECT 1 FROM before) AS created, pg_notify('${ACCOUNTS_CHANNEL}', $1)
       FROM written`,
      [row.id, jsonbText(row.entry)],
    );
    return result.rows[0]?.created === true ? 'created' : 'updated';
  }

  /** By its owner only (fenced), after it found the account flat. */
  async delete(accountId: string): Promise<boolean> {
    const written = await this.fence.write(
      accountId,
      `DELETE FROM accounts WHERE id = $4 AND EXISTS (SELECT 1 FROM lease)`,
      [accountId],
    );
    await this.pool.query(`SELECT pg_notify('${ACCOUNTS_CHANNEL}', $1)`, [accountId]);
    return written > 0;
  }

  async all(): Promise<AccountRow[]> {
    const result = await this.pool.query<{ id: string; config: Record<string, unknown> }>(
      'SELECT id, config FROM accounts ORDER BY id',
    );
    return result.rows.map((row) => ({ id: row.id, entry: row.config }));
  }
}
