import type { Pool } from 'pg';
import type { HistoryEvent, HistoryStore, HistoryWindow, RetentionPolicy, TradingEventType } from '@app/core';
import { jsonbText } from './jsonb-text';

/** Rows per page of `read`: memory stays bounded whatever the window. */
const PAGE_ROWS = 1_000;
/**
 * How far before the dense period's end thinning looks: it runs every hour, so only the last
 * hour's worth is new; a week covers a service that was stopped for days, without rescanning
 * 90 days of samples every hour.
 */
const THIN_LOOKBACK_MS = 7 * 86_400_000;

interface HistoryRow {
  id: string;
  account_id: string;
  at: string;
  type: TradingEventType;
  payload: HistoryEvent['payload'];
}

/**
 * History in PostgreSQL (docs/history.md): the table `history_events` (migration 4), indexed by
 * (account_id, at, id). Writes are not fenced by the account's lease, unlike the state that
 * decides trading: history is a record, and a process that just lost an account writing its last
 * events there is right, not harmful. Any process may read any account's history.
 */
export class PostgresHistoryStore implements HistoryStore {
  constructor(private readonly pool: Pool) {}

  async append(events: readonly HistoryEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.pool.query(
      `INSERT INTO history_events (account_id, at, type, payload)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::jsonb[])`,
      [
        events.map((e) => e.account_id),
        events.map((e) => e.at),
        events.map((e) => e.type),
        events.map((e) => jsonbText(e.payload)),
      ],
    );
  }

  async *read(
    accountId: string,
    window: HistoryWindow,
    types?: readonly TradingEventType[],
  ): AsyncIterable<HistoryEvent> {
    // Keyset pagination on (at, id): each page starts after the last row of the one before.
    let afterAt = window.from - 1;
    let afterId = '9223372036854775807';
    for (;;) {
      const { rows } = await this.pool.query<HistoryRow>(
        `SELECT id, account_id, at, type, payload FROM history_events
         WHERE account_id = $1 AND (at, id) > ($2::bigint, $3::bigint) AND at < $4
           AND ($5::text[] IS NULL OR type = ANY($5::text[]))
         ORDER BY at, id LIMIT ${PAGE_ROWS}`,
        [accountId, afterAt, afterId, window.to, types === undefined ? null : [...types]],
      );
      for (const row of rows)
        yield {
          type: row.type,
          at: Number(row.at),
          account_id: row.account_id,
          payload: row.payload,
        } as HistoryEvent;
      if (rows.length < PAGE_ROWS) return;
      const last = rows[rows.length - 1];
      afterAt = Number(last.at);
      afterId = last.id;
    }
  }

  async prune(now: number, policy: RetentionPolicy): Promise<number> {
    const retainFrom = now - policy.retainMs;
    const denseFrom = now - policy.denseEquityMs;
    const expired = await this.pool.query('DELETE FROM history_events WHERE at < $1', [retainFrom]);
    // Of the equity samples past the dense period, the first of each account's minute stays.
    const thinned = await this.pool.query(
      `DELETE FROM history_events h USING (
         SELECT id, row_number() OVER (PARTITION BY account_id, at / 60000 ORDER BY at, id) AS n
         FROM history_events
         WHERE type = 'equity_sample' AND at < $1 AND at >= $2
       ) ranked
       WHERE h.id = ranked.id AND ranked.n > 1`,
      [denseFrom, Math.max(retainFrom, denseFrom - THIN_LOOKBACK_MS)],
    );
    return (expired.rowCount ?? 0) + (thinned.rowCount ?? 0);
  }
}
