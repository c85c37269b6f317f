import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { HISTORY_STORE, type HistoryEvent, type HistoryStore } from '@app/core';
import { FileHistoryStore } from '../libs/state/src/history/file-history-store';
import {
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '../libs/state/src/postgres/testing/throwaway-postgres';
import { postSignal, signalBody } from './support/signed-request';
import { sampleValue } from './support/prometheus-sample';
import { startTestApp, type TestApp } from './support/test-app';

const HOUR = 3_600_000;

/** A full collection, with or without --expose-gc (`npm run test:e2e` runs jest without it). */
function collectGarbage(): void {
  if (global.gc !== undefined) return global.gc();
  setFlagsFromString('--expose_gc');
  (runInNewContext('gc') as () => void)();
}

async function tradeSignals(t: TestApp, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const body = signalBody();
    ids.push(body.id as string);
    expect((await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, body)).status).toBe(202);
  }
  for (const id of ids) await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === id);
  return ids;
}

async function getText(
  t: TestApp,
  path: string,
): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${t.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${t.secrets.adminToken}` },
  });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

describe('history: kept across restarts, exported, off the signal path', () => {
  let dir: string;
  let t: TestApp | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'history-e2e-'));
  });

  afterEach(async () => {
    await t?.close();
    t = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('counts trades made before a restart in the analytics of a window after it, and exports them', async () => {
    t = await startTestApp({}, dir);
    const from = new Date(Date.now() - 1_000).toISOString();
    const ids = await tradeSignals(t, 3);
    await t.close(); // the shutdown flushes what the recorder holds
    t = await startTestApp({}, dir);

    const report = await t.admin('GET', `/api/v1/accounts/default/analytics?from=${from}`);
    expect(report.status).toBe(200);
    expect(report.body.counts).toEqual({ signals: 3, executed: 3, failed: 0, rejected: 0 });
    expect(report.body.latency_ms.signal_to_execution.count).toBe(3);
    expect(report.body.window.from).toBe(from);
    // The single-account route keeps its answer: since this process started, so none of those.
    const live = await t.admin('GET', '/api/v1/analytics');
    expect(live.body.execution.executed).toBe(0);
    expect(live.body).not.toHaveProperty('counts');

    const csv = await getText(t, `/api/v1/accounts/default/export?kind=trades&format=csv&from=${from}`);
    expect(csv.status).toBe(200);
    expect(csv.type).toMatch(/^text\/csv/);
    const [header, ...rows] = csv.text.trimEnd().split('\n');
    expect(header).toBe(
      'time,account_id,signal_id,instrument,side,volume,outcome,fill_price,ticket,latency_ms,reason',
    );
    expect(rows).toHaveLength(3);
    for (const [i, row] of rows.entries()) {
      const cells = row.split(',');
      expect(cells[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(cells.slice(1, 7)).toEqual(['default', ids[i], 'EURUSD', 'buy', '0.1', 'executed']);
      expect(Number(cells[7])).toBeGreaterThan(0);
      expect(Number.isInteger(Number(cells[8]))).toBe(true);
      expect(cells[10]).toBe('');
    }

    const jsonl = await getText(t, `/api/v1/accounts/default/export?kind=events&format=jsonl&from=${from}`);
    expect(jsonl.type).toMatch(/^application\/x-ndjson/);
    const events = jsonl.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; time: string; account_id: string });
    expect(events.filter((e) => e.type === 'trade_executed')).toHaveLength(3);
    expect(events.every((e) => e.account_id === 'default' && !Number.isNaN(Date.parse(e.time)))).toBe(true);

    const whatIf = await t.admin('GET', `/api/v1/accounts/default/analytics/what-if?caps=5,50&from=${from}`);
    expect(whatIf.status).toBe(200);
    expect(whatIf.body.caps.map((c: { cap_percent: number }) => c.cap_percent)).toEqual([5, 50]);
    expect(whatIf.body).toMatchObject({ baseline: 'start', signals: 3, real_triggers: 0 });
  });

  it('refuses a bad window or query with a 400 naming the parameter', async () => {
    t = await startTestApp({}, dir);
    const bad = async (query: string, field: string, path = 'analytics') => {
      const answer = await t!.admin('GET', `/api/v1/accounts/default/${path}?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.body.errors[0].field).toBe(field);
    };
    await bad('from=yesterday', 'from');
    await bad('to=2026-11-30T10:00:00', 'to'); // no zone
    await bad('from=2026-11-30T10:00:00Z&to=2026-11-30T09:00:00Z', 'to');
    await bad('from=2026-01-01T00:00:00Z&to=2026-11-30T00:00:00Z', 'from');
    await bad('caps=0,20', 'caps', 'analytics/what-if');
    await bad('baseline=lowest', 'baseline', 'analytics/what-if');
    await bad('kind=orders', 'kind', 'export');
    await bad('kind=trades&format=xlsx', 'format', 'export');
    expect((await t.admin('GET', '/api/v1/accounts/nobody/analytics')).status).toBe(404);
  });

  it('streams a large window in bounded memory', async () => {
    t = await startTestApp({}, dir);
    // 200,000 equity samples of yesterday, written straight to the files the app reads.
    const store = new FileHistoryStore({ accountDir: () => dir, accountIds: [] });
    const start = Date.now() - 30 * HOUR;
    const total = 200_000;
    for (let i = 0; i < total; i += 10_000) {
      const batch: HistoryEvent[] = [];
      for (let j = i; j < i + 10_000; j++)
        batch.push({
          type: 'equity_sample',
          at: start + j * 100,
          account_id: 'default',
          payload: { equity: 10_000 - (j % 500), baseline_equity: 10_000, drawdown_percent: (j % 500) / 100 },
        });
      await store.append(batch);
    }
    const window = `from=${new Date(start).toISOString()}&to=${new Date(start + total * 100).toISOString()}`;

    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    const response = await fetch(
      `${t.baseUrl}/api/v1/accounts/default/export?kind=events&format=jsonl&${window}`,
      {
        headers: { authorization: `Bearer ${t.secrets.adminToken}` },
      },
    );
    expect(response.status).toBe(200);
    let bytes = 0;
    let lines = 0;
    let chunks = 0;
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      for (const c of decoder.decode(chunk, { stream: true })) if (c === '\n') lines++;
      // Live heap (after a collection) now and then while the export streams: garbage is not growth.
      if (++chunks % 100 === 0) {
        collectGarbage();
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      }
    }
    expect(lines).toBe(total);
    // The export is ~30 MB of text, more as JS objects: held whole, the live heap would grow by that.
    expect(bytes).toBeGreaterThan(25_000_000);
    expect(chunks).toBeGreaterThan(100);
    expect(heapPeak - heapBefore).toBeLessThan(10_000_000);
  }, 120_000);

  it('a history store that fails or hangs never delays or loses an order, and is counted', async () => {
    t = await startTestApp({}, dir);
    const store = t.app.get<HistoryStore>(HISTORY_STORE);
    let appends = 0;
    store.append = () => {
      appends++;
      return Promise.reject(new Error('history disk is gone'));
    };
    const ids = await tradeSignals(t, 3);
    const executed = t.eventsOf('trade_executed').filter((e) => ids.includes(e.payload.signal_id));
    expect(executed).toHaveLength(3);
    await t.waitForState(() => (appends > 0 ? true : undefined), 'a history write tried', 5_000);
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(sampleValue(metrics, 'trading_history_write_failures_total')).toBeGreaterThan(0);

    // Now it hangs: every write waits forever, and trading goes on as fast.
    store.append = () => new Promise(() => undefined);
    const started = Date.now();
    const more = await tradeSignals(t, 3);
    expect(t.eventsOf('trade_executed').filter((e) => more.includes(e.payload.signal_id))).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 60_000);
});

describe('history in PostgreSQL', () => {
  let server: ThrowawayPostgres;
  let dir: string;
  let t: TestApp | undefined;

  beforeAll(async () => {
    server = await startThrowawayPostgres();
    dir = await mkdtemp(join(tmpdir(), 'history-pg-e2e-'));
  });

  afterAll(async () => {
    await t?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the trades of a process for the analytics and the export of the next one', async () => {
    const env = {
      STATE_BACKEND: 'postgres',
      DATABASE_URL: await server.newDatabase(),
      ADMIN_TOKEN: 'admin-token-for-history-e2e',
      SIGNALS_HMAC_SECRET: 'inbox-secret-for-history-e2e',
    };
    t = await startTestApp(env, dir);
    const from = new Date(Date.now() - 1_000).toISOString();
    const ids = await tradeSignals(t, 2);
    await t.close();
    t = await startTestApp(env, dir);

    const report = await t.admin('GET', `/api/v1/accounts/default/analytics?from=${from}`);
    expect(report.body.counts).toEqual({ signals: 2, executed: 2, failed: 0, rejected: 0 });
    const csv = await getText(t, `/api/v1/accounts/default/export?kind=trades&from=${from}`);
    expect(
      csv.text
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((row) => row.split(',')[2]),
    ).toEqual(ids);
  }, 60_000);
});
