import { getJson } from './api';
import { el, formatAge, formatNumber, setText } from './dom';
import {
  capUsed,
  heartbeatAgeSeconds,
  visibleRows,
  windowOf,
  type OverviewRow,
  type SortKey,
  type ViewOptions,
} from './overview-model';

const ROW_HEIGHT = 32;
/** A performance mark set once the first overview is in the page (every account counted, rows drawn). */
export const FIRST_RENDER_MARK = 'dashboard-overview-rendered';
const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'id', label: 'Account' },
  { key: 'state', label: 'State' },
  { key: 'equity', label: 'Equity' },
  { key: 'drawdown', label: 'Drawdown / cap' },
  { key: 'heartbeat', label: 'Heartbeat' },
  { key: 'positions', label: 'Open positions' },
  { key: 'p99', label: 'Signal→exec p99' },
];

interface RowElements {
  root: HTMLElement;
  link: HTMLAnchorElement;
  state: HTMLElement;
  equity: HTMLElement;
  bar: HTMLElement;
  barText: HTMLElement;
  heartbeat: HTMLElement;
  positions: HTMLElement;
  p99: HTMLElement;
}

/**
 * All accounts at a glance, as a virtualised list: only the rows in view exist in the page (a
 * pool of elements reused while scrolling), so 2,000 accounts render as fast as 20, and a refresh
 * changes only the text that moved.
 */
export class OverviewView {
  readonly root: HTMLElement;
  private rows: OverviewRow[] = [];
  private ordered: OverviewRow[] = [];
  private serverOffset = 0;
  private readonly options: ViewOptions = {
    sort: 'drawdown',
    descending: true,
    text: '',
    state: 'all',
    needingAttentionFirst: true,
  };
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly pool: RowElements[] = [];
  private readonly summary: HTMLElement;
  private readonly headers = new Map<SortKey, HTMLElement>();

  constructor() {
    const filter = el('input', {
      type: 'search',
      placeholder: 'Filter by account id',
      'data-testid': 'filter',
    });
    filter.addEventListener('input', () => {
      this.options.text = filter.value;
      this.reorder();
    });
    const state = el(
      'select',
      { 'data-testid': 'state-filter' },
      ...['all', 'halted', 'stale', 'running'].map((s) =>
        el('option', { value: s }, s === 'all' ? 'every state' : s),
      ),
    );
    state.addEventListener('change', () => {
      this.options.state = state.value as ViewOptions['state'];
      this.reorder();
    });
    const attention = el('input', { type: 'checkbox', checked: '' });
    attention.addEventListener('change', () => {
      this.options.needingAttentionFirst = attention.checked;
      this.reorder();
    });
    this.summary = el('span', { class: 'summary', 'data-testid': 'summary' });
    const header = el('div', { class: 'grid-row grid-head', role: 'row' });
    for (const column of COLUMNS) {
      const cell = el('button', { class: `cell c-${column.key}`, type: 'button' }, column.label);
      cell.addEventListener('click', () => {
        this.options.descending =
          this.options.sort === column.key ? !this.options.descending : column.key !== 'id';
        this.options.sort = column.key;
        this.reorder();
      });
      this.headers.set(column.key, cell);
      header.append(cell);
    }
    this.spacer = el('div', { class: 'spacer' });
    this.viewport = el(
      'div',
      { class: 'viewport', 'data-testid': 'accounts', role: 'rowgroup' },
      this.spacer,
    );
    this.viewport.addEventListener('scroll', () => this.draw(), { passive: true });
    this.root = el(
      'section',
      { class: 'overview' },
      el(
        'div',
        { class: 'toolbar' },
        filter,
        state,
        el('label', {}, attention, ' halted and stale first'),
        this.summary,
      ),
      el('div', { class: 'grid', role: 'table' }, header, this.viewport),
    );
  }

  async refresh(): Promise<void> {
    const answer = await getJson<{ now: number; accounts: OverviewRow[] }>('overview');
    // Ages are computed against the server's clock, corrected for the time since its answer.
    this.serverOffset = answer.now - Date.now();
    this.rows = answer.accounts;
    this.reorder();
    // The first render, for the benchmark (and anyone in the browser's performance panel).
    if (performance.getEntriesByName(FIRST_RENDER_MARK).length === 0) performance.mark(FIRST_RENDER_MARK);
  }

  /** Heartbeat ages move with time alone: redraw them between refreshes. */
  tick(): void {
    this.draw();
  }

  private reorder(): void {
    this.ordered = visibleRows(this.rows, this.options);
    const counts = { halted: 0, stale: 0, running: 0 };
    for (const row of this.rows) counts[row.state]++;
    setText(
      this.summary,
      `${this.rows.length} accounts: ${counts.halted} halted, ${counts.stale} stale, ${counts.running} running` +
        (this.ordered.length === this.rows.length ? '' : ` (${this.ordered.length} shown)`),
    );
    for (const [key, cell] of this.headers)
      cell.dataset.sort = key === this.options.sort ? (this.options.descending ? 'desc' : 'asc') : '';
    this.spacer.style.height = `${this.ordered.length * ROW_HEIGHT}px`;
    this.draw();
  }

  private draw(): void {
    const { first, last } = windowOf(
      this.viewport.scrollTop,
      this.viewport.clientHeight || 600,
      ROW_HEIGHT,
      this.ordered.length,
    );
    const needed = last - first;
    while (this.pool.length < needed) this.pool.push(this.makeRow());
    const now = Date.now() + this.serverOffset;
    for (let i = 0; i < this.pool.length; i++) {
      const elements = this.pool[i];
      const row = this.ordered[first + i];
      if (i >= needed || row === undefined) {
        elements.root.hidden = true;
        continue;
      }
      elements.root.hidden = false;
      elements.root.style.transform = `translateY(${(first + i) * ROW_HEIGHT}px)`;
      this.fill(elements, row, now);
    }
  }

  private fill(e: RowElements, row: OverviewRow, now: number): void {
    e.root.dataset.account = row.id;
    e.root.dataset.state = row.state;
    setText(e.link, row.id);
    const href = `#/accounts/${encodeURIComponent(row.id)}`;
    if (e.link.getAttribute('href') !== href) e.link.setAttribute('href', href);
    setText(e.state, row.state);
    e.state.className = `cell c-state badge ${row.state}`;
    setText(e.equity, formatNumber(row.equity));
    const used = capUsed(row);
    e.bar.style.width = `${Math.min(100, (used ?? 0) * 100).toFixed(1)}%`;
    e.bar.className = `bar-fill ${used === null ? '' : used >= 1 ? 'over' : used >= 0.8 ? 'warn' : 'ok'}`;
    setText(e.barText, `${formatNumber(row.drawdown_percent)} % of ${formatNumber(row.cap_percent, 1)} %`);
    setText(e.heartbeat, formatAge(heartbeatAgeSeconds(row, now)));
    setText(e.positions, row.open_positions === null ? '–' : String(row.open_positions));
    setText(
      e.p99,
      row.signal_to_execution_p99_ms === null ? '–' : `${formatNumber(row.signal_to_execution_p99_ms, 1)} ms`,
    );
  }

  private makeRow(): RowElements {
    const link = el('a', { class: 'account-link' });
    const bar = el('span', { class: 'bar-fill' });
    const barText = el('span', { class: 'bar-text' });
    const cells = {
      state: el('span', { class: 'cell c-state' }),
      equity: el('span', { class: 'cell c-equity num' }),
      heartbeat: el('span', { class: 'cell c-heartbeat num' }),
      positions: el('span', { class: 'cell c-positions num' }),
      p99: el('span', { class: 'cell c-p99 num' }),
    };
    const root = el(
      'div',
      { class: 'grid-row', role: 'row', 'data-testid': 'account-row' },
      el('span', { class: 'cell c-id' }, link),
      cells.state,
      cells.equity,
      el('span', { class: 'cell c-drawdown' }, el('span', { class: 'bar' }, bar), barText),
      cells.heartbeat,
      cells.positions,
      cells.p99,
    );
    this.viewport.append(root);
    return { root, link, bar, barText, ...cells };
  }
}
