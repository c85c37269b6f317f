import type { RiskStateLoad, SignalStatus, TradeSignal, UnfinishedSignal } from '@app/core';
import DataLoader from 'dataloader';
import type { Pool } from 'pg';

/** Accounts read in one query at most; a takeover of more makes several. */
export const MAX_ACCOUNTS_PER_READ = 500;

/**
 * The reads of an account being taken on (its unfinished signals, its risk state), batched: the
 * reads asked in the same tick go out as one query (DataLoader). A takeover moves hundreds of
 * accounts at once, and one query per account each queued for one of the pool's connections
 * kept them untraded (and their drawdown unchecked) for seconds. Nothing is cached: every
 * batch reads the database afresh.
 */
export class BatchedAccountReads {
  private readonly unfinished: DataLoader<string, UnfinishedSignal[]>;
  private readonly riskStates: DataLoader<string, RiskStateLoad>;

  constructor(pool: Pool) {
    const options = { cache: false, maxBatchSize: MAX_ACCOUNTS_PER_READ };
    this.unfinished = new DataLoader((ids) => readUnfinished(pool, ids), options);
    this.riskStates = new DataLoader((ids) => readRiskStates(pool, ids), options);
  }

  /** The account's signals accepted or approved and not ended, in arrival order. */
  unfinishedOf(accountId: string): Promise<UnfinishedSignal[]> {
    return this.unfinished.load(accountId);
  }

  /** The account's halt latch and baselines as last saved. */
  riskStateOf(accountId: string): Promise<RiskStateLoad> {
    return this.riskStates.load(accountId);
  }
}

async function readUnfinished(pool: Pool, ids: readonly string[]): Promise<UnfinishedSignal[][]> {
  const result = await pool.query<{ account_id: string; status: SignalStatus; body: TradeSignal }>(
    `SELECT w.account_id, w.status, s.body FROM signal_work w JOIN signals s ON s.id = w.signal_id
     WHERE w.account_id = ANY($1::text[]) AND w.status IN ('accepted', 'approved') ORDER BY s.seq`,
    [ids],
  );
  const byAccount = new Map<string, UnfinishedSignal[]>(ids.map((id) => [id, []]));
  for (const row of result.rows)
    byAccount.get(row.account_id)?.push({ signal: row.body, status: row.status });
  return ids.map((id) => byAccount.get(id) ?? []);
}

async function readRiskStates(pool: Pool, ids: readonly string[]): Promise<RiskStateLoad[]> {
  const result = await pool.query<{ account_id: string; state: unknown }>(
    'SELECT account_id, state FROM risk_state WHERE account_id = ANY($1::text[])',
    [ids],
  );
  const byAccount = new Map(result.rows.map((row) => [row.account_id, row.state]));
  return ids.map((id): RiskStateLoad => {
    const state = byAccount.get(id);
    return state === undefined ? { kind: 'absent' } : { kind: 'loaded', value: state };
  });
}
