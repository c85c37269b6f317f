/**
 * History (docs/history.md), `BENCH_ONLY=history`:
 *
 * 1. Disk use per account per day, files backend, at the demo rate (DEMO_SIGNALS_PER_MINUTE=6)
 *    and at 100 signals/s, with an equity sample every EQUITY_CHECK_INTERVAL_MS (1 s). One
 *    simulated hour (demo) or minute (100/s) of an account's events is written through the real
 *    FileHistoryStore, the bytes on disk are scaled to a day; then the day is thinned as retention
 *    does after 24 h (equity to one sample a minute) and measured again. Baseline: the equity
 *    samples alone (what any account costs, trading or not).
 * 2. Signal-path p99 (arrival to order sent at 200 signals/s) with history recording on vs off,
 *    the same run otherwise: history must stay off the signal path.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryEvent } from '@app/core';
import { FileHistoryStore } from '@app/state/history/file-history-store';
import { fmt, latencyRun, LatencyProbe, LATENCY_SAMPLES, percentile, rows, say } from './bench-support';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const EQUITY_EVERY_MS = 1_000;
const ACCOUNT = 'bench-account';
const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);

/** The events of one signal that trades, as the service publishes them (realistic payloads). */
function signalEvents(at: number, n: number): HistoryEvent[] {
  const signalId = `sig-${n.toString(36)}-a1b2c3d4`;
  const base = { account_id: ACCOUNT };
  return [
    {
      ...base,
      type: 'signal_received',
      at,
      payload: {
        signal_id: signalId,
        instrument: 'EURUSD',
        side: 'buy',
        volume: 0.1,
        source: 'inbox',
        created_at: new Date(at - 40).toISOString(),
      },
    },
    {
      ...base,
      type: 'signal_approved',
      at: at + 1,
      payload: { signal_id: signalId, approval_time_ms: 0, approved_by: 'auto' },
    },
    {
      ...base,
      type: 'trade_executed',
      at: at + 3,
      payload: {
        signal_id: signalId,
        ticket: 100_000 + n,
        instrument: 'EURUSD',
        side: 'buy',
        volume: 0.1,
        fill_price: 1.08412,
        request_id: `o-${signalId}`,
        latency_ms: 3.2,
        execution_time_ms: 1.9,
        attempts: 1,
      },
    },
  ];
}

function equityEvent(at: number, i: number): HistoryEvent {
  const equity = 10_000 + Math.sin(i / 300) * 120;
  return {
    account_id: ACCOUNT,
    type: 'equity_sample',
    at,
    payload: {
      equity: Math.round(equity * 100) / 100,
      baseline_equity: 10_000,
      drawdown_percent: Math.max(0, Math.round(((10_000 - equity) / 100) * 10_000) / 10_000),
      daily_loss_percent: null,
      open_positions: 3,
    },
  } as HistoryEvent;
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  return total;
}

/** Bytes per day: `spanMs` of events written, scaled to a day; then thinned as after 24 h. */
async function diskPerDay(
  signalsPerSecond: number,
  spanMs: number,
): Promise<{ dense: number; thinned: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-history-'));
  try {
    const store = new FileHistoryStore({ accountDir: () => dir, accountIds: [ACCOUNT] });
    const batch: HistoryEvent[] = [];
    const flush = async () => {
      await store.append(batch.splice(0));
    };
    let n = 0;
    const signalEveryMs = signalsPerSecond > 0 ? 1000 / signalsPerSecond : Infinity;
    let nextSignal = T0;
    for (let at = T0, i = 0; at < T0 + spanMs; at += EQUITY_EVERY_MS, i++) {
      batch.push(equityEvent(at, i));
      while (nextSignal < at + EQUITY_EVERY_MS && nextSignal < T0 + spanMs) {
        batch.push(...signalEvents(Math.floor(nextSignal), n++));
        nextSignal += signalEveryMs;
      }
      if (batch.length >= 1000) await flush();
    }
    await flush();
    const dense = ((await bytesUnder(dir)) * DAY_MS) / spanMs;
    // Retention after 24 h: equity thinned to one sample a minute.
    await store.prune(T0 + spanMs + DAY_MS, { retainMs: 90 * DAY_MS, denseEquityMs: DAY_MS });
    const thinned = ((await bytesUnder(dir)) * DAY_MS) / spanMs;
    return { dense, thinned };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const mib = (bytes: number) => `${fmt(bytes / 1024 / 1024, 2)} MiB`;

export async function benchHistory(): Promise<void> {
  say('benchmark: history disk use and signal-path cost...');
  const equityOnly = await diskPerDay(0, HOUR_MS);
  const demo = await diskPerDay(6 / 60, HOUR_MS);
  const busy = await diskPerDay(100, 60_000);
  rows.push([
    'history disk per account per day, files, demo rate (6 signals/min, equity every 1 s): last 24 h / older (thinned)',
    `${mib(demo.dense)} / ${mib(demo.thinned)}`,
    `${mib(equityOnly.dense)} / ${mib(equityOnly.thinned)} (equity samples alone)`,
    fmt(demo.dense / equityOnly.dense),
    '- (reported)',
    '-',
  ]);
  rows.push([
    'history disk per account per day, files, 100 signals/s: last 24 h / older (thinned)',
    `${mib(busy.dense)} / ${mib(busy.thinned)}`,
    `${mib(equityOnly.dense)} / ${mib(equityOnly.thinned)} (equity samples alone)`,
    fmt(busy.dense / equityOnly.dense),
    '- (reported)',
    '-',
  ]);

  const probe = new LatencyProbe();
  const on = await latencyRun(probe, { analytics: true, history: true });
  const off = await latencyRun(probe, { analytics: true, history: false });
  const p99On = percentile(on, 99);
  const p99Off = percentile(off, 99);
  rows.push([
    `arrival to order sent p99 @200/s, history on vs off (${LATENCY_SAMPLES} samples each)`,
    `${fmt(p99On, 3)} ms on (p50 ${fmt(percentile(on, 50), 3)})`,
    `${fmt(p99Off, 3)} ms off (p50 ${fmt(percentile(off, 50), 3)})`,
    fmt(p99On / p99Off),
    'history off the signal path (ratio near 1)',
    p99On / p99Off < 1.2 ? 'met' : 'NOT met',
  ]);
}
