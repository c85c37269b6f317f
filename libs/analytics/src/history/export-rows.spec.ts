import type { HistoryEvent } from '@app/core';
import { exportLines, exportRows } from './export-rows';

const T = Date.UTC(2026, 10, 30, 9, 0, 0);

async function* from(events: HistoryEvent[]): AsyncIterable<HistoryEvent> {
  for (const e of events) yield e;
}

async function text(lines: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const chunk of lines) out += chunk;
  return out;
}

const received = (at: number, id: string): HistoryEvent => ({
  type: 'signal_received',
  at,
  account_id: 'a',
  payload: {
    signal_id: id,
    instrument: 'XAUUSD',
    side: 'sell',
    volume: 0.2,
    source: 'inbox',
    created_at: '',
  },
});

describe('exportRows / exportLines', () => {
  it('joins each outcome with its signal_received, one trade row per outcome, CSV with a header', async () => {
    const events: HistoryEvent[] = [
      received(T, 's-1'),
      received(T + 1, 's-2'),
      received(T + 2, 's-3'),
      {
        type: 'trade_executed',
        at: T + 10,
        account_id: 'a',
        payload: {
          signal_id: 's-1',
          ticket: 42,
          instrument: 'XAUUSD',
          side: 'sell',
          volume: 0.2,
          fill_price: 2011.5,
          request_id: 'r',
          latency_ms: 12.5,
          execution_time_ms: 3,
          attempts: 1,
        },
      },
      {
        type: 'trade_failed',
        at: T + 11,
        account_id: 'a',
        payload: { signal_id: 's-2', reason: 'no money, "really"', attempts: 3 },
      },
      {
        type: 'signal_rejected',
        at: T + 12,
        account_id: 'a',
        payload: { signal_id: 'unseen', reason: 'halted' },
      },
    ];
    const csv = await text(exportLines('trades', 'csv', exportRows('trades', from(events))));
    expect(csv.split('\n')).toEqual([
      'time,account_id,signal_id,instrument,side,volume,outcome,fill_price,ticket,latency_ms,reason',
      '2026-11-30T09:00:00.010Z,a,s-1,XAUUSD,sell,0.2,executed,2011.5,42,12.5,',
      '2026-11-30T09:00:00.011Z,a,s-2,XAUUSD,sell,0.2,failed,,,,"no money, ""really"""',
      '2026-11-30T09:00:00.012Z,a,unseen,,,,rejected,,,,halted',
      '',
    ]);
  });

  it('writes JSON lines of equity rows, and events with their payload', async () => {
    const events: HistoryEvent[] = [
      {
        type: 'equity_sample',
        at: T,
        account_id: 'a',
        payload: { equity: 9_900, baseline_equity: 10_000, drawdown_percent: 1 },
      },
      received(T + 1, 's-1'),
    ];
    const equity = (await text(exportLines('equity', 'jsonl', exportRows('equity', from(events)))))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    expect(equity).toEqual([
      {
        time: '2026-11-30T09:00:00.000Z',
        account_id: 'a',
        equity: 9_900,
        baseline_equity: 10_000,
        drawdown_percent: 1,
      },
    ]);
    const csv = await text(exportLines('events', 'csv', exportRows('events', from(events))));
    expect(csv.split('\n')[2]).toBe(
      '2026-11-30T09:00:00.001Z,a,signal_received,"{""signal_id"":""s-1"",""instrument"":""XAUUSD"",""side"":""sell"",""volume"":0.2,""source"":""inbox"",""created_at"":""""}"',
    );
  });
});
