import type { Announcement, Lease, LeaseStore, RenewalResult } from '@app/core';
import type { Pool } from 'pg';

/** bigint columns come back as strings unless a type parser says otherwise. */
interface LeaseRow {
  account_id: string;
  epoch: string | number;
}

const TTL = `($3::bigint * interval '1 millisecond')`;

/** Every account has a lease row before it can be taken: a new account gets a free one at epoch 0. */
const ADD_MISSING_LEASES = `
  INSERT INTO leases (account_id, owner, epoch, expires_at)
  SELECT a.id, NULL, 0, '-infinity' FROM accounts a
  WHERE NOT EXISTS (SELECT 1 FROM leases l WHERE l.account_id = a.id)
  ORDER BY a.id
  ON CONFLICT (account_id) DO NOTHING`;

/**
 * Takes up to $2 free or expired leases for $1, each at the next epoch. SKIP LOCKED lets
 * processes acquiring at once take different accounts instead of queueing on the same ones; the
 * UPDATE's own condition is re-checked on the row's latest version, so a lease taken and
 * committed by another process meanwhile is never taken twice.
 */
const ACQUIRE = `
  WITH free AS (
    SELECT l.account_id FROM leases l JOIN accounts a ON a.id = l.account_id
    WHERE l.owner IS NULL OR l.expires_at <= now()
    ORDER BY l.account_id
    LIMIT $2
    FOR UPDATE OF l SKIP LOCKED
  )
  UPDATE leases l SET owner = $1, epoch = l.epoch + 1, expires_at = now() + ${TTL}
  FROM free
  WHERE l.account_id = free.account_id AND (l.owner IS NULL OR l.expires_at <= now())
  RETURNING l.account_id, l.epoch`;

/**
 * Extends only the leases $1 still holds at the epochs it believes ($2 accounts, $4 epochs), not
 * yet expired, of accounts that still exist: anything else is lost. The rows are locked in
 * account order first, as every statement locking several leases does (a batch of fenced ledger
 * updates locks them FOR SHARE in that order): in any other order the two could deadlock.
 */
const RENEW = `
  WITH mine AS (
    SELECT l.account_id, l.epoch FROM leases l
    JOIN unnest($2::text[], $4::bigint[]) AS held(account_id, epoch)
      ON l.account_id = held.account_id AND l.epoch = held.epoch
    WHERE l.owner = $1 AND l.expires_at > now()
      AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = l.account_id)
    ORDER BY l.account_id
    FOR NO KEY UPDATE OF l
  )
  UPDATE leases l SET expires_at = now() + ${TTL}
  FROM mine
  WHERE l.account_id = mine.account_id AND l.epoch = mine.epoch AND l.owner = $1 AND l.expires_at > now()
  RETURNING l.account_id, l.epoch`;

/** Notified when a process leaves after releasing its leases: the others run a round at once. */
export const LEASES_CHANNEL = 'trading_leases';

/**
 * Frees the leases $1 holds at these epochs; the epoch stays, the next owner's is one higher.
 * Locked in account order first, as RENEW.
 */
const RELEASE = `
  WITH mine AS (
    SELECT l.account_id, l.epoch FROM leases l
    JOIN unnest($2::text[], $3::bigint[]) AS held(account_id, epoch)
      ON l.account_id = held.account_id AND l.epoch = held.epoch
    WHERE l.owner = $1
    ORDER BY l.account_id
    FOR NO KEY UPDATE OF l
  )
  UPDATE leases l SET owner = NULL, expires_at = now()
  FROM mine
  WHERE l.account_id = mine.account_id AND l.epoch = mine.epoch AND l.owner = $1`;

/**
 * Marks $1 alive for $2 ms and counts the live processes and the accounts. The count reads the
 * statement's snapshot, which does not include this upsert: this process is counted apart. Also
 * the milliseconds until another process's announcement or lease runs out next (null: none).
 */
const ANNOUNCE = `
  WITH me AS (
    INSERT INTO processes (id, expires_at) VALUES ($1, now() + ($2::bigint * interval '1 millisecond'))
    ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at
    RETURNING id
  )
  SELECT (SELECT count(*) FROM processes WHERE expires_at > now() AND id <> $1)::int + 1 AS live,
         (SELECT count(*) FROM accounts)::int AS accounts,
         (SELECT count(*) FROM me)::int AS announced,
         (SELECT extract(epoch FROM min(expires_at) - now()) * 1000 FROM (
            SELECT expires_at FROM processes WHERE expires_at > now() AND id <> $1
            UNION ALL
            SELECT expires_at FROM leases WHERE expires_at > now() AND owner IS NOT NULL AND owner <> $1
          ) AS running)::float8 AS next_expiry_ms`;

/**
 * The leases in PostgreSQL (docs/scale-out.md, Ownership), on the tables of `migrations.ts`.
 * Every time is the database's `now()`, never this machine's clock, so the processes agree on
 * when a lease expires whatever their clocks say. Each call is one statement (autocommit), so a
 * process that dies mid-call leaves nothing half done.
 */
export class PostgresLeaseStore implements LeaseStore {
  constructor(private readonly pool: Pool) {}

  async announce(processId: string, ttlMs: number): Promise<Announcement> {
    const result = await this.pool.query<{ live: number; accounts: number; next_expiry_ms: number | null }>(
      ANNOUNCE,
      [processId, Math.round(ttlMs)],
    );
    const row = result.rows[0];
    if (row === undefined) throw new Error('announce: the database returned no row');
    return {
      liveProcesses: row.live,
      accounts: row.accounts,
      ...(row.next_expiry_ms === null ? {} : { nextExpiryInMs: row.next_expiry_ms }),
    };
  }

  async renew(processId: string, held: readonly Lease[], ttlMs: number): Promise<RenewalResult> {
    if (held.length === 0) return { renewed: [], lost: [] };
    const result = await this.pool.query<LeaseRow>(RENEW, [
      processId,
      held.map((lease) => lease.accountId),
      Math.round(ttlMs),
      held.map((lease) => lease.epoch),
    ]);
    const renewedIds = new Set(result.rows.map((row) => row.account_id));
    return {
      renewed: held.filter((lease) => renewedIds.has(lease.accountId)).map((lease) => ({ ...lease })),
      lost: held.filter((lease) => !renewedIds.has(lease.accountId)).map((lease) => ({ ...lease })),
    };
  }

  async acquire(processId: string, max: number, ttlMs: number): Promise<Lease[]> {
    if (max <= 0) return [];
    await this.pool.query(ADD_MISSING_LEASES);
    const result = await this.pool.query<LeaseRow>(ACQUIRE, [processId, Math.floor(max), Math.round(ttlMs)]);
    return result.rows.map((row) => ({ accountId: row.account_id, epoch: Number(row.epoch) }));
  }

  async release(processId: string, leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    await this.pool.query(RELEASE, [
      processId,
      leases.map((lease) => lease.accountId),
      leases.map((lease) => lease.epoch),
    ]);
  }

  /** Also tells the other processes (LEASES_CHANNEL), so they take the released accounts at once. */
  async leave(processId: string): Promise<void> {
    await this.pool.query(
      `WITH gone AS (DELETE FROM processes WHERE id = $1 RETURNING id)
       SELECT pg_notify('${LEASES_CHANNEL}', id) FROM gone`,
      [processId],
    );
  }
}
