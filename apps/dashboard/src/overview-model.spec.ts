import { capUsed, visibleRows, windowOf, type OverviewRow, type ViewOptions } from './overview-model';

const row = (id: string, overrides: Partial<OverviewRow> = {}): OverviewRow => ({
  id,
  state: 'running',
  equity: 10_000,
  drawdown_percent: 0,
  cap_percent: 20,
  daily_drawdown_percent: null,
  daily_cap_percent: null,
  open_positions: 0,
  last_heartbeat_at: 1_000,
  signal_to_execution_p99_ms: null,
  ...overrides,
});
const options = (overrides: Partial<ViewOptions> = {}): ViewOptions => ({
  sort: 'id',
  descending: false,
  text: '',
  state: 'all',
  needingAttentionFirst: true,
  ...overrides,
});
const ids = (rows: OverviewRow[]) => rows.map((r) => r.id);

describe('the overview order', () => {
  const rows = [
    row('a', { drawdown_percent: 5 }),
    row('b', { state: 'stale', drawdown_percent: 1 }),
    row('c', { state: 'halted', drawdown_percent: 19 }),
    row('d', { drawdown_percent: 15, cap_percent: 10 }),
  ];

  it('puts halted, then stale accounts first, whatever the sort', () => {
    expect(ids(visibleRows(rows, options({ sort: 'id' })))).toEqual(['c', 'b', 'a', 'd']);
    expect(ids(visibleRows(rows, options({ sort: 'id', needingAttentionFirst: false })))).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  it('sorts drawdown by the share of its own cap used, not the raw percent', () => {
    const byDrawdown = visibleRows(
      rows,
      options({ sort: 'drawdown', descending: true, needingAttentionFirst: false }),
    );
    // d: 15 % of a 10 % cap (1.5) beats c: 19 % of 20 % (0.95).
    expect(ids(byDrawdown)).toEqual(['d', 'c', 'a', 'b']);
    expect(capUsed(rows[3])).toBeCloseTo(1.5);
  });

  it('filters by state and by part of the id, case-insensitively', () => {
    expect(ids(visibleRows(rows, options({ state: 'halted' })))).toEqual(['c']);
    expect(ids(visibleRows([row('Alpha-1'), row('beta-2')], options({ text: 'ALPHA' })))).toEqual([
      'Alpha-1',
    ]);
  });

  it('keeps rows without a value last in either direction', () => {
    const withMissing = [row('x', { equity: null }), row('y', { equity: 5 }), row('z', { equity: 7 })];
    expect(ids(visibleRows(withMissing, options({ sort: 'equity', descending: true })))).toEqual([
      'z',
      'y',
      'x',
    ]);
    expect(ids(visibleRows(withMissing, options({ sort: 'equity', descending: false })))).toEqual([
      'y',
      'z',
      'x',
    ]);
  });
});

describe('the virtualised window', () => {
  it('draws the rows in view and a few either side, within the list', () => {
    expect(windowOf(0, 320, 32, 2000, 8)).toEqual({ first: 0, last: 18 });
    expect(windowOf(32 * 1000, 320, 32, 2000, 8)).toEqual({ first: 992, last: 1018 });
    expect(windowOf(32 * 1995, 320, 32, 2000, 8)).toEqual({ first: 1987, last: 2000 });
    expect(windowOf(0, 320, 32, 0, 8)).toEqual({ first: 0, last: 0 });
  });
});
