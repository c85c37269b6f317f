/** The overview's rows and their order: pure, so it is tested without a browser. */

export type AccountState = 'running' | 'halted' | 'stale';

export interface OverviewRow {
  id: string;
  state: AccountState;
  equity: number | null;
  drawdown_percent: number | null;
  cap_percent: number;
  daily_drawdown_percent: number | null;
  daily_cap_percent: number | null;
  open_positions: number | null;
  last_heartbeat_at: number | null;
  signal_to_execution_p99_ms: number | null;
}

export type SortKey = 'id' | 'state' | 'equity' | 'drawdown' | 'heartbeat' | 'positions' | 'p99';

export interface ViewOptions {
  sort: SortKey;
  descending: boolean;
  /** Case-insensitive part of the id. */
  text: string;
  state: AccountState | 'all';
  /** Halted and stale accounts above the others, whatever the sort. */
  needingAttentionFirst: boolean;
}

const ATTENTION_RANK: Record<AccountState, number> = { halted: 0, stale: 1, running: 2 };

/** The share of the cap used, 0 to 1 (more than 1 once past it), or null without a reading. */
export function capUsed(row: OverviewRow): number | null {
  if (row.drawdown_percent === null || row.cap_percent <= 0) return null;
  return Math.max(0, row.drawdown_percent) / row.cap_percent;
}

/** Seconds since the last heartbeat (a completed pass of the account's work), or null. */
export function heartbeatAgeSeconds(row: OverviewRow, now: number): number | null {
  return row.last_heartbeat_at === null ? null : Math.max(0, (now - row.last_heartbeat_at) / 1000);
}

function valueOf(row: OverviewRow, key: SortKey): number | string | null {
  switch (key) {
    case 'id':
      return row.id;
    case 'state':
      return ATTENTION_RANK[row.state];
    case 'equity':
      return row.equity;
    case 'drawdown':
      return capUsed(row);
    // Older heartbeat = larger age: sorting by last_heartbeat_at ascending shows the oldest first.
    case 'heartbeat':
      return row.last_heartbeat_at === null ? null : -row.last_heartbeat_at;
    case 'positions':
      return row.open_positions;
    case 'p99':
      return row.signal_to_execution_p99_ms;
  }
}

function compareValues(a: number | string | null, b: number | string | null): number {
  // Missing values go last in either direction.
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (typeof a === 'string' || typeof b === 'string') return String(a).localeCompare(String(b));
  return a - b;
}

/** Filtered and ordered rows, ties broken by id so the order is stable between refreshes. */
export function visibleRows(rows: readonly OverviewRow[], options: ViewOptions): OverviewRow[] {
  const text = options.text.trim().toLowerCase();
  const kept = rows.filter(
    (row) =>
      (options.state === 'all' || row.state === options.state) &&
      (text === '' || row.id.toLowerCase().includes(text)),
  );
  const direction = options.descending ? -1 : 1;
  return kept.sort((a, b) => {
    if (options.needingAttentionFirst) {
      const rank = ATTENTION_RANK[a.state] - ATTENTION_RANK[b.state];
      if (rank !== 0) return rank;
    }
    const va = valueOf(a, options.sort);
    const vb = valueOf(b, options.sort);
    const byValue = va === null || vb === null ? compareValues(va, vb) : direction * compareValues(va, vb);
    return byValue !== 0 ? byValue : a.id.localeCompare(b.id);
  });
}

/** Which rows a virtualised list draws: those in view and a few either side. */
export function windowOf(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 8,
): { first: number; last: number } {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(total, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
  return { first, last: Math.max(first, last) };
}
