import { HistoryAnalyticsFold, type HistoryEvent } from '@app/core';
import { EXPORT_TYPES, exportRows } from './export-rows';

const T = Date.UTC(2026, 10, 30, 9, 0, 0);

async function* from(events: HistoryEvent[]): AsyncIterable<HistoryEvent> {
  for (const e of events) yield e;
}

// A `close` signal that closes its positions ends in `positions_closed` (and the ledger's
// `executed`), never in `trade_executed` (libs/core/src/execution/signal-executor.ts). The window
// analytics count it as executed; the trades export, which reads neither that type nor emits a
// row for it, leaves every successful close out of the backtest file.
it('exports a close signal that closed its positions as an executed trade row', async () => {
  const events: HistoryEvent[] = [
    {
      type: 'signal_received',
      at: T,
      account_id: 'a',
      payload: {
        signal_id: 'close-1',
        instrument: 'EURUSD',
        side: 'close',
        volume: 0,
        source: 'inbox',
        created_at: '',
      },
    },
    {
      type: 'positions_closed',
      at: T + 5,
      account_id: 'a',
      payload: { signal_id: 'close-1', instrument: 'EURUSD', closed: 2, failed: 0 },
    },
  ];
  const fold = new HistoryAnalyticsFold({ window: { from: T, to: T + 1_000 } });
  for (const e of events) fold.add(e);
  expect(fold.result().counts.executed).toBe(1);

  // What the export controller reads for kind=trades, then the rows it builds.
  const wanted = new Set<string>(EXPORT_TYPES.trades ?? []);
  const rows: unknown[] = [];
  for await (const row of exportRows('trades', from(events.filter((e) => wanted.has(e.type)))))
    rows.push(row);
  expect(rows).toEqual([
    expect.objectContaining({ signal_id: 'close-1', side: 'close', outcome: 'executed' }),
  ]);
});
