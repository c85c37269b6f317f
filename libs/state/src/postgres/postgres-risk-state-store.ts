import type { RiskState, RiskStateLoad, RiskStateStore } from '@app/core';
import type { Pool } from 'pg';
import type { LeaseFence } from './lease-fence';
import { jsonbText } from './jsonb-text';

/** Reads an account's risk state as last saved, whoever owns it (the accounts API of any process). */
export async function loadRiskState(pool: Pool, accountId: string): Promise<RiskStateLoad> {
  const result = await pool.query<{ state: unknown }>('SELECT state FROM risk_state WHERE account_id = $1', [
    accountId,
  ]);
  const row = result.rows[0];
  return row === undefined ? { kind: 'absent' } : { kind: 'loaded', value: row.state };
}

/**
 * The halt latch and baselines of one account as one jsonb row, written whole and fenced by the
 * account's lease. jsonb keeps numbers as exact decimals, so what `save` stores is what `load` reads.
 */
export class PostgresRiskStateStore implements RiskStateStore {
  constructor(
    private readonly fence: LeaseFence,
    private readonly accountId: string,
    /** How it is read (batched with other accounts taken on at once); by default on its own. */
    private readonly read: () => Promise<RiskStateLoad> = () => loadRiskState(fence.pool, accountId),
  ) {}

  load(): Promise<RiskStateLoad> {
    return this.read();
  }

  async save(state: RiskState): Promise<void> {
    await this.fence.write(
      this.accountId,
      `INSERT INTO risk_state (account_id, state) SELECT $1, $4::jsonb FROM lease
       ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, updated_at = now()`,
      [jsonbText(state)],
    );
  }
}
