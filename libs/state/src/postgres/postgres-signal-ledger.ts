import {
  type PendingWork,
  type SignalLedger,
  type SignalLedgerRecord,
  type SignalStatus,
  type SignalTargets,
  type TradeSignal,
  type UnfinishedSignal,
} from '@app/core';
import type { Pool, PoolClient } from 'pg';
import type { LeaseFence } from './lease-fence';
import { RecentIds } from './recent-ids';
import { jsonbText } from './jsonb-text';

/** The channel owners LISTEN on: its payload is the id of a signal with new accepted work. */
export const WORK_CHANNEL = 'trading_work';

/** Most claims in one transaction: bounds the statement, not the rate (the next batch follows at once). */
const MAX_CLAIMS_PER_BATCH = 500;
/** How many ids `seen` remembers. */
const RECENT_IDS = 100_000;
/** Most rows one `pendingWork` call answers; the rest come at the next call. */
const PENDING_WORK_LIMIT = 1_000;
/** Deadlock and serialization failure: two processes claiming the same ids in another order. */
const RETRYABLE_CODES = new Set(['40P01', '40001']);
const BATCH_ATTEMPTS = 3;

interface QueuedClaim {
  signal: TradeSignal;
  targets: SignalTargets;
  at: number;
  resolve: (outcome: 'claimed' | 'duplicate') => void;
  reject: (error: unknown) => void;
}

/** An unfinished signal of some account, as the work of whichever process owns that account. */

interface WorkRow {
  account_id: string;
  status: SignalStatus;
  body: TradeSignal;
}

/**
 * The signal ledger in PostgreSQL (docs/scale-out.md, Intake): any process claims any signal for
 * any account, so `claim` is not fenced; a claim is one `signals` row (the at-most-once point: a
 * duplicate id is a duplicate whichever process receives it) and one `signal_work` row per target
 * account, committed with a notification on WORK_CHANNEL. Claims that arrive while a commit is in
 * flight share the next transaction (group commit). `update` moves one account's work on and is
 * fenced by that account's lease.
 */
export class PostgresSignalLedger implements SignalLedger {
  /** Claim transactions committed (fewer than claims under load: the group commit at work). */
  commits = 0;
  private readonly recent = new RecentIds(RECENT_IDS);
  private queue: QueuedClaim[] = [];
  private committing = false;

  constructor(private readonly fence: LeaseFence) {}

  private get pool(): Pool {
    return this.fence.pool;
  }

  /** True only for ids this process claimed or found duplicate lately: any other id is for `claim` to decide. */
  seen(id: string): boolean {
    return this.recent.has(id);
  }

  claim(signal: TradeSignal, targets: SignalTargets, at: number): Promise<'claimed' | 'duplicate'> {
    if (this.recent.has(signal.id)) return Promise.resolve('duplicate');
    return new Promise((resolve, reject) => {
      this.queue.push({ signal, targets, at, resolve, reject });
      this.startCommit();
    });
  }

  async update(
    accountId: string,
    id: string,
    status: SignalStatus,
    at: number,
    details: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'> = {},
  ): Promise<void> {
    const written = await this.fence.write(
      accountId,
      `UPDATE signal_work SET status = $5, at = $6, reason = coalesce($7, reason),
         request_id = coalesce($8, request_id), ticket = coalesce($9, ticket), updated_at = now()
       WHERE account_id = $1 AND signal_id = $4 AND EXISTS (SELECT 1 FROM lease)`,
      [
        id,
        status,
        Math.floor(at),
        details.reason ?? null,
        details.request_id ?? null,
        details.ticket ?? null,
      ],
    );
    if (written === 0) throw new Error(`signal ${id} was never claimed for account ${accountId}`);
  }

  /** One account's work not finished yet (accepted or approved), with the whole signal, in arrival order. */
  async unfinishedOf(accountId: string): Promise<UnfinishedSignal[]> {
    const result = await this.pool.query<WorkRow>(
      `SELECT w.account_id, w.status, s.body FROM signal_work w JOIN signals s ON s.id = w.signal_id
       WHERE w.account_id = $1 AND w.status IN ('accepted', 'approved') ORDER BY s.seq`,
      [accountId],
    );
    return result.rows.map((row) => ({ signal: row.body, status: row.status }));
  }

  /**
   * Accepted work of these accounts, whichever process accepted it, of signals after `afterSeq`
   * in arrival order (`seq`), oldest first and at most PENDING_WORK_LIMIT.
   */
  async pendingWork(accountIds: readonly string[], afterSeq = 0): Promise<PendingWork[]> {
    if (accountIds.length === 0) return [];
    const result = await this.pool.query<WorkRow & { seq: string }>(
      `SELECT w.account_id, w.status, s.body, s.seq FROM signal_work w JOIN signals s ON s.id = w.signal_id
       WHERE w.account_id = ANY($1::text[]) AND w.status = 'accepted' AND s.seq > $3
       ORDER BY s.seq, w.account_id LIMIT $2`,
      [accountIds, PENDING_WORK_LIMIT, afterSeq],
    );
    return result.rows.map((row) => ({
      accountId: row.account_id,
      signal: row.body,
      status: row.status,
      seq: Number(row.seq),
    }));
  }

  /** Commits the queue, one batch at a time, until it is empty. */
  private startCommit(): void {
    if (this.committing || this.queue.length === 0) return;
    this.committing = true;
    const batch = this.queue.slice(0, MAX_CLAIMS_PER_BATCH);
    this.queue = this.queue.slice(batch.length);
    void this.commitBatch(batch).finally(() => {
      this.committing = false;
      this.startCommit();
    });
  }

  /** Never rejects: every claim of the batch is settled, all with the error if the batch failed. */
  private async commitBatch(batch: readonly QueuedClaim[]): Promise<void> {
    // The first claim of an id in a batch is the one that can win; the others are duplicates of it.
    const firsts = new Map<string, QueuedClaim>();
    const repeats: QueuedClaim[] = [];
    for (const claim of batch)
      if (firsts.has(claim.signal.id)) repeats.push(claim);
      else firsts.set(claim.signal.id, claim);
    let claimed: Set<string>;
    try {
      claimed = await this.insertWithRetry([...firsts.values()]);
    } catch (error) {
      for (const claim of batch) claim.reject(error);
      return;
    }
    this.commits++;
    for (const [id, claim] of firsts) {
      this.recent.add(id);
      claim.resolve(claimed.has(id) ? 'claimed' : 'duplicate');
    }
    for (const claim of repeats) claim.resolve('duplicate');
  }

  private async insertWithRetry(claims: readonly QueuedClaim[]): Promise<Set<string>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.insert(claims);
      } catch (error) {
        if (attempt >= BATCH_ATTEMPTS || !RETRYABLE_CODES.has(errorCode(error))) throw error;
      }
    }
  }

  /** One transaction: the signals that are new, their work rows, and a notification for those with work. */
  private async insert(claims: readonly QueuedClaim[]): Promise<Set<string>> {
    const ids: string[] = [];
    const bodies: string[] = [];
    const work = {
      accounts: [] as string[],
      ids: [] as string[],
      statuses: [] as string[],
      ats: [] as number[],
    };
    const reasons: (string | null)[] = [];
    const withWork: string[] = [];
    for (const { signal, targets, at } of claims) {
      ids.push(signal.id);
      bodies.push(jsonbText(storedSignal(signal)));
      const accepted = new Set(targets.accepted);
      const rejected = new Set(targets.rejected.filter((account) => !accepted.has(account)));
      for (const [accounts, status, reason] of [
        [accepted, 'accepted', null],
        [rejected, 'rejected', targets.reason ?? null],
      ] as const)
        for (const account of accounts) {
          work.accounts.push(account);
          work.ids.push(signal.id);
          work.statuses.push(status);
          work.ats.push(Math.floor(at));
          reasons.push(reason);
        }
      if (accepted.size > 0) withWork.push(signal.id);
    }
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const inserted = await client.query<{ id: string }>(
        `WITH claimed AS (
           INSERT INTO signals (id, body)
           SELECT id, body FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS input (id, body, ord)
           ORDER BY ord
           ON CONFLICT (id) DO NOTHING
           RETURNING id
         ), work AS (
           INSERT INTO signal_work (account_id, signal_id, status, at, reason)
           SELECT w.account_id, w.signal_id, w.status, w.at, w.reason
           FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])
             AS w (account_id, signal_id, status, at, reason)
           JOIN claimed ON claimed.id = w.signal_id
         )
         SELECT id FROM claimed`,
        [ids, bodies, work.accounts, work.ids, work.statuses, work.ats, reasons],
      );
      const claimed = new Set(inserted.rows.map((row) => row.id));
      const notify = withWork.filter((id) => claimed.has(id));
      if (notify.length > 0)
        await client.query(`SELECT pg_notify('${WORK_CHANNEL}', id) FROM unnest($1::text[]) AS id`, [notify]);
      await client.query('COMMIT');
      return claimed;
    } catch (error) {
      await rollback(client).catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

/** The signal as stored: without its `accounts` list (the work rows say who trades it), as the files backend. */
function storedSignal(signal: TradeSignal): TradeSignal {
  const stored: TradeSignal = { ...signal };
  delete stored.accounts;
  return stored;
}

async function rollback(client: PoolClient): Promise<void> {
  await client.query('ROLLBACK');
}

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : '';
}
