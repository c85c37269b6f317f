import {
  type PendingWork,
  type SignalLedger,
  type SignalLedgerRecord,
  type SignalStatus,
  type SignalTargets,
  type TradeSignal,
} from '@app/core';
import type { Pool, PoolClient } from 'pg';
import type { LeaseFence } from './lease-fence';
import { RecentIds } from './recent-ids';
import { jsonbText } from './jsonb-text';

/** The channel owners LISTEN on: its payload is the id of a signal with new accepted work. */
export const WORK_CHANNEL = 'trading_work';

/** Most claims in one transaction: bounds the statement, not the rate (the next batch follows at once). */
const MAX_CLAIMS_PER_BATCH = 500;
/** Most ledger updates in one statement: the rest follow in the next, at once. */
const MAX_UPDATES_PER_BATCH = 500;
/** How many ids `seen` remembers. */
const RECENT_IDS = 100_000;
/** Most rows one `pendingWork` call answers; the rest come at the next call. */
const PENDING_WORK_LIMIT = 1_000;
/**
 * Deadlock and serialization failure: two processes claiming the same ids in another order, or a
 * batch of updates locking leases while a renewal or takeover locks some of them.
 */
const RETRYABLE_CODES = new Set(['40P01', '40001']);
const BATCH_ATTEMPTS = 3;

interface QueuedClaim {
  signal: TradeSignal;
  targets: SignalTargets;
  at: number;
  resolve: (outcome: 'claimed' | 'duplicate') => void;
  reject: (error: unknown) => void;
}

interface QueuedUpdate {
  accountId: string;
  /** The epoch the lease was held at when the update was asked: the batch checks that one. */
  epoch: number;
  id: string;
  status: SignalStatus;
  at: number;
  details: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

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
  private updates: QueuedUpdate[] = [];
  private updating = false;

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

  /**
   * Moves one account's work on, fenced by that account's lease. Updates that arrive while one
   * batch is in flight share the next statement (one commit for all, as claims do): under load
   * the trading side writes an outcome per (account, signal) and would otherwise hold the pool
   * with a transaction each. Resolves once the write is committed.
   */
  update(
    accountId: string,
    id: string,
    status: SignalStatus,
    at: number,
    details: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'> = {},
  ): Promise<void> {
    const epoch = this.fence.heldAt(accountId);
    if (typeof epoch !== 'number') return Promise.reject(epoch);
    return new Promise((resolve, reject) => {
      this.updates.push({ accountId, epoch, id, status, at, details, resolve, reject });
      this.startUpdates();
    });
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

  /**
   * Writes the queued updates, one batch at a time, until none is left. A batch holds at most one
   * update per (account, signal): a second one waits for the next batch, so updates of one pair
   * land in the order they were asked.
   */
  private startUpdates(): void {
    if (this.updating || this.updates.length === 0) return;
    this.updating = true;
    const keys = new Set<string>();
    let size = 0;
    for (const update of this.updates) {
      const key = pairKey(update.accountId, update.id);
      if (keys.has(key) || size >= MAX_UPDATES_PER_BATCH) break;
      keys.add(key);
      size++;
    }
    const batch = this.updates.slice(0, size);
    this.updates = this.updates.slice(size);
    void this.writeUpdates(batch).finally(() => {
      this.updating = false;
      this.startUpdates();
    });
  }

  /** Never rejects: every update of the batch is settled (`held` keys are account and epoch). */
  private async writeUpdates(batch: readonly QueuedUpdate[]): Promise<void> {
    let outcome: { held: Set<string>; written: Set<string> };
    try {
      outcome = await withRetry(() => this.updateAll(batch));
    } catch (error) {
      // A value the database refuses (a ticket out of range, say) must fail its own update only.
      if (batch.length > 1 && isDataError(error)) {
        for (const update of batch) await this.writeUpdates([update]);
        return;
      }
      for (const update of batch) update.reject(error);
      return;
    }
    for (const update of batch) {
      if (!outcome.held.has(pairKey(update.accountId, update.epoch)))
        update.reject(this.fence.refusedInBatch(update.accountId));
      else if (!outcome.written.has(pairKey(update.accountId, update.id)))
        update.reject(new Error(`signal ${update.id} was never claimed for account ${update.accountId}`));
      else update.resolve();
    }
  }

  /**
   * One statement, so one transaction: the leases of the batch's accounts, checked and locked FOR
   * SHARE as a single write does (lease-fence.ts), and the work rows of those still held at the
   * epoch each update was asked at. Answers which accounts were held and which rows were written.
   */
  private async updateAll(
    batch: readonly QueuedUpdate[],
  ): Promise<{ held: Set<string>; written: Set<string> }> {
    // `what` is the epoch of a held lease (an update asked at an older one is refused), the signal of a written row.
    const result = await this.pool.query<{ kind: 'held' | 'written'; account_id: string; what: string }>(
      `WITH input AS (
         SELECT * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::bigint[])
           AS i (account_id, epoch, signal_id, status, at, reason, request_id, ticket)
       ), lease AS (
         SELECT l.account_id, l.epoch FROM leases l
         WHERE l.owner = $1 AND l.expires_at > now()
           AND (l.account_id, l.epoch) IN (SELECT account_id, epoch FROM input)
         ORDER BY l.account_id
         FOR SHARE OF l
       ), written AS (
         UPDATE signal_work w SET status = i.status, at = i.at, reason = coalesce(i.reason, w.reason),
           request_id = coalesce(i.request_id, w.request_id), ticket = coalesce(i.ticket, w.ticket),
           updated_at = now()
         FROM input i
         WHERE w.account_id = i.account_id AND w.signal_id = i.signal_id
           AND (i.account_id, i.epoch) IN (SELECT account_id, epoch FROM lease)
         RETURNING w.account_id, w.signal_id
       )
       SELECT 'held' AS kind, account_id, epoch::text AS what FROM lease
       UNION ALL SELECT 'written', account_id, signal_id FROM written`,
      [
        this.fence.processId,
        batch.map((u) => u.accountId),
        batch.map((u) => u.epoch),
        batch.map((u) => u.id),
        batch.map((u) => u.status),
        batch.map((u) => Math.floor(u.at)),
        batch.map((u) => textValue(u.details.reason)),
        batch.map((u) => textValue(u.details.request_id)),
        batch.map((u) => u.details.ticket ?? null),
      ],
    );
    const held = new Set<string>();
    const written = new Set<string>();
    for (const row of result.rows)
      (row.kind === 'held' ? held : written).add(pairKey(row.account_id, row.what));
    return { held, written };
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
      claimed = await withRetry(() => this.insert([...firsts.values()]));
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

/** One key for an account and a signal id (or an epoch): NUL cannot occur in either. */
function pairKey(accountId: string, other: string | number): string {
  return `${accountId}\u0000${String(other)}`;
}

/** Runs `attempt` again after a deadlock or serialization failure, at most BATCH_ATTEMPTS times. */
async function withRetry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= BATCH_ATTEMPTS || !RETRYABLE_CODES.has(errorCode(error))) throw error;
    }
  }
}

/** Data exceptions and integrity violations (SQLSTATE classes 22 and 23): the statement's values, not the database. */
function isDataError(error: unknown): boolean {
  const code = errorCode(error);
  return code.startsWith('22') || code.startsWith('23');
}

/** A text column cannot hold NUL (PostgreSQL refuses the whole statement): it becomes U+FFFD, as in jsonb. */
function textValue(value: string | undefined): string | null {
  return value === undefined ? null : value.replaceAll('\u0000', '\uFFFD');
}

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : '';
}
