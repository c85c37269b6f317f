import { ApiError, getJson, postJson, type SessionInfo } from './api';
import { timeChart } from './charts';
import { el, formatAge, formatNumber, table } from './dom';

interface Status {
  state: string;
  trading_state: string;
  halt: { reason: string; source: string; at: string | null } | null;
  equity: number | null;
  baseline_equity: number | null;
  drawdown_percent: number | null;
  cap_percent: number;
  daily_drawdown_percent: number | null;
  daily_cap_percent: number | null;
  open_positions: number | null;
  last_heartbeat_at: string | null;
}
interface Latency {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}
interface Analytics {
  latency_ms: Record<'signal_to_execution' | 'approval' | 'order_execution', Latency>;
  drawdown: {
    curve: { points: { at: string; equity: number; drawdown_percent: number }[] };
    cap_triggers: number;
  };
}
interface EventView {
  type: string;
  at: string;
  [field: string]: unknown;
}
interface WhatIfRow {
  cap_percent: number;
  triggers: number;
  first_trigger_at: string | null;
  trades_missed: number;
  equity_at_first_trigger: number | null;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Caps the what-if table compares, beside the account's own. */
const WHAT_IF_CAPS = [5, 10, 15, 20, 25];
const EVENTS_SHOWN = 30;

const notAvailable = (what: string, error: unknown): HTMLElement =>
  el(
    'p',
    { class: 'muted' },
    error instanceof ApiError && error.status === 404
      ? `${what}: not available on this service yet.`
      : `${what}: could not be loaded (${error instanceof Error ? error.message : String(error)}).`,
  );

/**
 * One account: status and its actions, curves with the cap and its triggers, heartbeat, latency,
 * positions, recent events and the what-if table. `refresh` redraws from fresh reads.
 */
export class AccountView {
  readonly root: HTMLElement;
  private readonly heartbeatAges: { at: number; value: number }[] = [];
  private readonly body = el('div', { class: 'account-body' });
  private readonly message = el('p', { class: 'message', role: 'status', 'data-testid': 'action-message' });

  constructor(
    readonly accountId: string,
    private readonly session: SessionInfo,
  ) {
    this.root = el(
      'section',
      { class: 'account', 'data-testid': 'account-page' },
      el('p', {}, el('a', { href: '#/' }, '← all accounts')),
      el('h2', {}, `Account ${accountId}`),
      this.message,
      this.body,
    );
  }

  /** The account's own cap among the compared ones, once its status is known. */
  private whatIfCaps = WHAT_IF_CAPS.join(',');

  async refresh(): Promise<void> {
    const id = encodeURIComponent(this.accountId);
    const [status, analytics, positions, events, whatIf] = await Promise.allSettled([
      getJson<Status>(`accounts/${id}/status`),
      getJson<Analytics>(`accounts/${id}/analytics`),
      getJson<{ positions: Record<string, unknown>[] }>(`accounts/${id}/positions`),
      getJson<EventView[]>(`accounts/${id}/events?limit=${EVENTS_SHOWN}`),
      getJson<{ caps?: WhatIfRow[]; results?: WhatIfRow[] }>(
        `accounts/${id}/analytics/what-if?caps=${this.whatIfCaps}`,
      ),
    ]);
    const sections: HTMLElement[] = [];
    if (status.status === 'fulfilled')
      this.whatIfCaps = [...new Set([...WHAT_IF_CAPS, status.value.cap_percent])]
        .sort((a, b) => a - b)
        .join(',');
    if (status.status === 'fulfilled') sections.push(this.statusSection(status.value));
    else sections.push(notAvailable('Status', status.reason));
    const triggers =
      events.status === 'fulfilled'
        ? events.value.filter((e) => e.type === 'drawdown_cap_triggered').map((e) => Date.parse(e.at))
        : [];
    if (analytics.status === 'fulfilled' && status.status === 'fulfilled')
      sections.push(this.curves(analytics.value, status.value, triggers), this.latency(analytics.value));
    else if (analytics.status === 'rejected') sections.push(notAvailable('Analytics', analytics.reason));
    sections.push(
      el('h3', {}, 'Heartbeat'),
      this.heartbeatSection(status.status === 'fulfilled' ? status.value : undefined),
    );
    sections.push(el('h3', {}, 'Open positions'));
    sections.push(
      positions.status === 'fulfilled'
        ? this.positions(positions.value.positions)
        : notAvailable('Positions', positions.reason),
    );
    sections.push(el('h3', {}, 'What if the cap were…'));
    sections.push(
      whatIf.status === 'fulfilled'
        ? this.whatIf(whatIf.value.caps ?? whatIf.value.results ?? [])
        : notAvailable('What-if', whatIf.reason),
    );
    sections.push(el('h3', {}, 'Recent events'));
    sections.push(
      events.status === 'fulfilled' ? this.events(events.value) : notAvailable('Events', events.reason),
    );
    this.body.replaceChildren(...sections);
  }

  private statusSection(s: Status): HTMLElement {
    const facts = el(
      'dl',
      { class: 'facts', 'data-testid': 'account-status' },
      el('dt', {}, 'State'),
      el('dd', { class: `badge ${s.state}`, 'data-testid': 'account-state' }, s.state),
      el('dt', {}, 'Trading'),
      el('dd', {}, s.trading_state),
      el('dt', {}, 'Equity'),
      el('dd', { 'data-testid': 'account-equity' }, formatNumber(s.equity)),
      el('dt', {}, 'Drawdown'),
      el('dd', {}, `${formatNumber(s.drawdown_percent)} % (cap ${formatNumber(s.cap_percent, 1)} %)`),
      el('dt', {}, 'Open positions'),
      el(
        'dd',
        { 'data-testid': 'account-positions' },
        s.open_positions === null ? '–' : String(s.open_positions),
      ),
    );
    if (s.halt !== null)
      facts.append(
        el('dt', {}, 'Halted'),
        el('dd', {}, `${s.halt.reason} (${s.halt.source}, ${s.halt.at ?? ''})`),
      );
    return el('div', { class: 'status' }, facts, this.actions(s));
  }

  private actions(s: Status): HTMLElement {
    if (this.session.role !== 'admin')
      return el(
        'p',
        { class: 'muted', 'data-testid': 'read-only' },
        'Signed in as a viewer: halt and resume need the admin token.',
      );
    if (s.state === 'halted') {
      const reviewedBy = el('input', {
        name: 'reviewed_by',
        required: '',
        maxlength: '100',
        placeholder: 'your name',
      });
      const note = el('input', { name: 'note', maxlength: '1000', placeholder: 'what was checked' });
      const form = el(
        'form',
        { class: 'action', 'data-testid': 'resume-form' },
        el('label', {}, 'Reviewed by ', reviewedBy),
        el('label', {}, 'Note ', note),
        el('button', { type: 'submit', 'data-testid': 'resume' }, 'Resume trading'),
      );
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        void this.act('resume', { reviewed_by: reviewedBy.value, note: note.value });
      });
      return form;
    }
    const reason = el('input', { name: 'reason', maxlength: '500', placeholder: 'reason (optional)' });
    const form = el(
      'form',
      { class: 'action', 'data-testid': 'halt-form' },
      el('label', {}, 'Reason ', reason),
      el('button', { type: 'submit', class: 'danger', 'data-testid': 'halt' }, 'Halt trading'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!window.confirm(`Halt account ${this.accountId}? Its positions are closed.`)) return;
      void this.act('halt', reason.value.trim() === '' ? {} : { reason: reason.value });
    });
    return form;
  }

  private async act(action: 'halt' | 'resume', body: Record<string, unknown>): Promise<void> {
    try {
      await postJson(`accounts/${encodeURIComponent(this.accountId)}/${action}`, body);
      this.message.textContent = action === 'halt' ? 'Halted.' : 'Resumed.';
    } catch (error) {
      this.message.textContent = `${action} refused: ${error instanceof Error ? error.message : String(error)}`;
    }
    await this.refresh();
  }

  private curves(a: Analytics, s: Status, triggers: number[]): HTMLElement {
    const points = a.drawdown.curve.points.map((p) => ({ ...p, at: Date.parse(p.at) }));
    const equity = el('div', { class: 'chart', 'data-testid': 'equity-chart' });
    const drawdown = el('div', { class: 'chart', 'data-testid': 'drawdown-chart' });
    const wrap = el('div', { class: 'charts' }, equity, drawdown);
    if (points.length === 0) {
      wrap.replaceChildren(el('p', { class: 'muted' }, 'No equity samples yet.'));
      return wrap;
    }
    // Drawn once the elements are in the page (uPlot measures its target).
    requestAnimationFrame(() => {
      timeChart(
        equity,
        'Equity',
        'USD',
        points.map((p) => ({ at: p.at, value: p.equity })),
        { markers: triggers },
      );
      timeChart(
        drawdown,
        'Drawdown',
        '%',
        points.map((p) => ({ at: p.at, value: p.drawdown_percent })),
        {
          limit: s.cap_percent,
          limitLabel: `cap ${s.cap_percent} %`,
          markers: triggers,
        },
      );
    });
    return wrap;
  }

  private latency(a: Analytics): HTMLElement {
    const row = (name: string, l: Latency) => [
      name,
      String(l.count),
      ...[l.p50, l.p95, l.p99, l.max].map((v) => (v === null ? '–' : `${formatNumber(v, 1)} ms`)),
    ];
    return el(
      'div',
      {},
      el('h3', {}, 'Latency'),
      table(
        ['', 'count', 'p50', 'p95', 'p99', 'max'],
        [
          row('signal → execution', a.latency_ms.signal_to_execution),
          row('approval', a.latency_ms.approval),
          row('order execution', a.latency_ms.order_execution),
        ],
        'latency',
      ),
    );
  }

  /** The heartbeat's age at every refresh while the page is open, as a small timeline. */
  private heartbeatSection(s: Status | undefined): HTMLElement {
    const last = s?.last_heartbeat_at ?? null;
    const age = last === null ? null : Math.max(0, (Date.now() - Date.parse(last)) / 1000);
    if (age !== null) this.heartbeatAges.push({ at: Date.now(), value: age });
    if (this.heartbeatAges.length > 600) this.heartbeatAges.shift();
    const chart = el('div', { class: 'chart small' });
    if (this.heartbeatAges.length > 1)
      requestAnimationFrame(() => timeChart(chart, 'Heartbeat age', 's', this.heartbeatAges));
    return el('div', {}, el('p', {}, `Last heartbeat ${formatAge(age)} ago.`), chart);
  }

  private positions(positions: Record<string, unknown>[]): HTMLElement {
    if (positions.length === 0) return el('p', { class: 'muted' }, 'No open positions.');
    const keys = Object.keys(positions[0]);
    return table(
      keys,
      positions.map((p) => keys.map((k) => cellText(p[k]))),
      'positions',
    );
  }

  private whatIf(rows: WhatIfRow[]): HTMLElement {
    if (rows.length === 0) return el('p', { class: 'muted' }, 'No equity history in the window.');
    return table(
      ['cap', 'triggers', 'first trigger', 'trades missed', 'equity at first trigger'],
      rows.map((r) => [
        `${r.cap_percent} %`,
        String(r.triggers),
        r.first_trigger_at ?? '–',
        String(r.trades_missed),
        formatNumber(r.equity_at_first_trigger),
      ]),
      'what-if',
    );
  }

  private events(events: EventView[]): HTMLElement {
    const newestFirst = [...events].reverse();
    return table(
      ['time', 'event', 'details'],
      newestFirst.map(({ type, at, account_id: _account, ...rest }) => [at, type, JSON.stringify(rest)]),
      'events',
    );
  }
}
