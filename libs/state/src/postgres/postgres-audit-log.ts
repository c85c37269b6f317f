import type { AuditEntry, AuditLog } from '@app/core';
import type { Pool } from 'pg';
import type { LeaseFence } from './lease-fence';
import { jsonbText } from './jsonb-text';

/** The last `limit` entries of an account's audit log, oldest first, whoever owns it. */
export async function readAudit(pool: Pool, accountId: string, limit: number): Promise<AuditEntry[]> {
  const result = await pool.query<{ entry: AuditEntry }>(
    `SELECT entry FROM (
       SELECT seq, entry FROM audit WHERE account_id = $1 ORDER BY seq DESC LIMIT $2
     ) AS newest ORDER BY seq`,
    [accountId, limit],
  );
  return result.rows.map((row) => row.entry);
}

/** One account's audit log as rows of `audit`, each append fenced by the account's lease. */
export class PostgresAuditLog implements AuditLog {
  constructor(
    private readonly fence: LeaseFence,
    private readonly accountId: string,
  ) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.fence.write(
      this.accountId,
      'INSERT INTO audit (account_id, at, entry) SELECT $1, $4::bigint, $5::jsonb FROM lease',
      [Math.floor(entry.at), jsonbText(entry)],
    );
  }
}
