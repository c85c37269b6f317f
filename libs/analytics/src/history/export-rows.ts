import { setNewest, type HistoryEvent, type TradingEventType } from '@app/core';

export type ExportKind = 'trades' | 'equity' | 'events';
export type ExportFormat = 'csv' | 'jsonl';

/** A signal's order, remembered from `signal_received` until its outcome; at most this many (oldest forgotten). */
const MAX_PENDING_SIGNALS = 10_000;

export interface TradeRow {
  time: string;
  account_id: string;
  signal_id: string;
  instrument: string | null;
  side: string | null;
  volume: number | null;
  outcome: 'executed' | 'failed' | 'rejected';
  fill_price: number | null;
  ticket: number | null;
  latency_ms: number | null;
  reason: string | null;
}

export interface EquityRow {
  time: string;
  account_id: string;
  equity: number;
  baseline_equity: number | null;
  drawdown_percent: number;
}

export interface EventRow {
  time: string;
  account_id: string;
  type: TradingEventType;
  payload: HistoryEvent['payload'];
}

type Row = TradeRow | EquityRow | EventRow;

export const EXPORT_COLUMNS: Record<ExportKind, readonly string[]> = {
  trades: [
    'time',
    'account_id',
    'signal_id',
    'instrument',
    'side',
    'volume',
    'outcome',
    'fill_price',
    'ticket',
    'latency_ms',
    'reason',
  ],
  equity: ['time', 'account_id', 'equity', 'baseline_equity', 'drawdown_percent'],
  events: ['time', 'account_id', 'type', 'payload'],
};

/** The history event types each kind reads. */
export const EXPORT_TYPES: Record<ExportKind, readonly TradingEventType[] | undefined> = {
  trades: ['signal_received', 'trade_executed', 'positions_closed', 'trade_failed', 'signal_rejected'],
  equity: ['equity_sample'],
  events: undefined,
};

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * An export's rows from the window's history, one at a time. A trade row is a signal's outcome
 * (`trade_executed`, `positions_closed` of a close signal, `trade_failed`, `signal_rejected`) joined with its `signal_received` for the
 * order (instrument, side, volume); the received signals waiting for an outcome are a bounded map,
 * so a signal received long before its outcome, or before the window, has empty order fields
 * unless its outcome carries them.
 */
export async function* exportRows(kind: ExportKind, events: AsyncIterable<HistoryEvent>): AsyncIterable<Row> {
  if (kind === 'equity') {
    for await (const e of events)
      if (e.type === 'equity_sample')
        yield {
          time: iso(e.at),
          account_id: e.account_id,
          equity: e.payload.equity,
          baseline_equity: e.payload.baseline_equity,
          drawdown_percent: e.payload.drawdown_percent,
        };
    return;
  }
  if (kind === 'events') {
    for await (const e of events)
      yield { time: iso(e.at), account_id: e.account_id, type: e.type, payload: e.payload };
    return;
  }
  const pending = new Map<string, { instrument: string; side: string; volume: number }>();
  for await (const e of events) {
    const base = { time: iso(e.at), account_id: e.account_id };
    switch (e.type) {
      case 'signal_received':
        setNewest(
          pending,
          e.payload.signal_id,
          { instrument: e.payload.instrument, side: e.payload.side, volume: e.payload.volume },
          MAX_PENDING_SIGNALS,
        );
        break;
      case 'trade_executed':
        pending.delete(e.payload.signal_id);
        yield {
          ...base,
          signal_id: e.payload.signal_id,
          instrument: e.payload.instrument,
          side: e.payload.side,
          volume: e.payload.volume,
          outcome: 'executed',
          fill_price: e.payload.fill_price,
          ticket: e.payload.ticket,
          latency_ms: e.payload.latency_ms,
          reason: null,
        };
        break;
      // A `close` signal: executed when it closed every position it meant to, failed otherwise
      // (as the window analytics count it).
      case 'positions_closed': {
        const order = pending.get(e.payload.signal_id);
        pending.delete(e.payload.signal_id);
        const closedAll = e.payload.failed === 0;
        yield {
          ...base,
          signal_id: e.payload.signal_id,
          instrument: e.payload.instrument,
          side: order?.side ?? 'close',
          volume: order?.volume ?? null,
          outcome: closedAll ? 'executed' : 'failed',
          fill_price: null,
          ticket: null,
          latency_ms: null,
          reason: closedAll
            ? null
            : `${e.payload.failed} position(s) not closed (${e.payload.closed} closed)`,
        };
        break;
      }
      case 'trade_failed':
      case 'signal_rejected': {
        const order = pending.get(e.payload.signal_id);
        pending.delete(e.payload.signal_id);
        yield {
          ...base,
          signal_id: e.payload.signal_id,
          instrument: order?.instrument ?? null,
          side: order?.side ?? null,
          volume: order?.volume ?? null,
          outcome: e.type === 'trade_failed' ? 'failed' : 'rejected',
          fill_price: null,
          ticket: null,
          latency_ms: null,
          reason: e.payload.reason,
        };
        break;
      }
      default:
        break;
    }
  }
}

/** The export as text chunks: a header row then one line per row (CSV), or one JSON object per line. */
export async function* exportLines(
  kind: ExportKind,
  format: ExportFormat,
  rows: AsyncIterable<Row>,
): AsyncIterable<string> {
  const columns = EXPORT_COLUMNS[kind];
  if (format === 'csv') yield `${columns.join(',')}\n`;
  let chunk = '';
  for await (const row of rows) {
    chunk += format === 'jsonl' ? `${JSON.stringify(row)}\n` : `${csvLine(columns, row)}\n`;
    // A few KB per write: fewer, larger chunks than one per row, still bounded.
    if (chunk.length >= 16_384) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

function csvLine(columns: readonly string[], row: Row): string {
  const values = row as unknown as Record<string, unknown>;
  return columns.map((column) => csvField(values[column])).join(',');
}

/** RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean'
        ? `${value}`
        : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
