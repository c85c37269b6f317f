import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { INestApplication } from '@nestjs/common';
import { BROKER_FLEET, openRequestId, type BrokerFleet, type OpenOrderRequest } from '@app/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { EventBus } from '@app/common';
import { HistoryRecording } from '@app/analytics';
import { loadConfig } from '@app/config';
import { createApp } from '../../apps/trading-bot/src/bootstrap/create-app';

/** What the benchmarks share: load generation, latency probes, the service started in this process. */
export const SECRET = 'bench-inbox-secret-0123456789';
/** Concurrent senders in the throughput runs (ours and the baseline alike). */
export const THROUGHPUT_CLIENTS = Number(process.env.BENCH_CLIENTS ?? 128);
export const rows: string[][] = [];
export const say = (line: string) => process.stderr.write(`${line}\n`);

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export function runLoad(
  port: number,
  options: { count: number; concurrency: number; ratePerSecond?: number; prefix: string },
) {
  return new Promise<{ sent: number; failed: number; elapsedMs: number }>((resolve, reject) => {
    const worker = new Worker(join(__dirname, 'load-generator.cjs'), {
      workerData: { port, secret: SECRET, ...options },
    });
    worker.once('message', (m: { sent: number; failed: number; elapsedMs: number }) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
  });
}

/** Arrival (request event) to "order sent", keyed by signal id. */
export class LatencyProbe {
  readonly arrivals = new Map<string, number>();
  readonly sent = new Map<string, number>();
  record(): number[] {
    const out: number[] = [];
    for (const [id, at] of this.sent) {
      const arrived = this.arrivals.get(id);
      if (arrived !== undefined) out.push(at - arrived);
    }
    return out;
  }
  reset(): void {
    this.arrivals.clear();
    this.sent.clear();
  }
}

export function probeServer(server: Server, probe: LatencyProbe): void {
  server.prependListener('request', (req) => {
    const id = req.headers['x-bench-id'];
    if (typeof id === 'string') probe.arrivals.set(id, performance.now());
  });
}

/**
 * The baselines: node:http reading, verifying, parsing and forwarding a signal, nothing else; with
 * `durable`, the fair one: it also appends one record per signal to a file and fdatasyncs it
 * before forwarding (as our inbox makes its claim durable before the order), one sync per request.
 */
export async function startBareServer(
  probe: LatencyProbe,
  options: { durable: boolean } = { durable: false },
): Promise<{ port: number; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-bare-'));
  const journal = options.durable ? await open(join(dir, 'records.jsonl'), 'a') : undefined;
  const forward = (id: string, res: ServerResponse) => {
    probe.sent.set(id, performance.now()); // "forward": the order would be sent here
    res
      .writeHead(202, { 'content-type': 'application/json' })
      .end(JSON.stringify({ id, status: 'accepted' }));
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const ts = String(req.headers['x-timestamp']);
      const expected = createHmac('sha256', SECRET).update(`${ts}.`).update(raw).digest();
      const given = Buffer.from(String(req.headers['x-signature']), 'hex');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.writeHead(401).end();
        return;
      }
      const body = JSON.parse(raw.toString('utf8')) as { id: string; instrument: string; volume: number };
      if (typeof body.id !== 'string' || typeof body.instrument !== 'string' || !(body.volume > 0)) {
        res.writeHead(400).end();
        return;
      }
      if (journal === undefined) return forward(body.id, res);
      journal
        .write(`${JSON.stringify({ id: body.id, status: 'accepted', at: Date.now() })}\n`)
        .then(() => journal.datasync())
        .then(
          () => forward(body.id, res),
          () => res.writeHead(503).end(),
        );
    });
  });
  probeServer(server, probe);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      await new Promise((r) => server.close(() => r(undefined)));
      await journal?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Start the real app in this process. `analytics: false` detaches every event subscriber and
 * listener (metrics, analytics, event ring, stream, webhooks, heartbeat counters) after start,
 * so the same path can be measured with and without them.
 */
export async function startService(
  env: Record<string, string>,
  probe?: LatencyProbe,
  options: { analytics: boolean; history?: boolean } = { analytics: true },
) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-'));
  const loaded = loadConfig({
    STATE_DIR: dir,
    LOG_LEVEL: 'info',
    SIGNAL_SOURCES: 'inbox',
    SIGNALS_HMAC_SECRET: SECRET,
    MAX_ORDERS_PER_SECOND: '100000',
    PAPER_BALANCE: '100000000',
    ...env,
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const { app } = await createApp(loaded.config);
  await app.listen(0, '127.0.0.1');
  // History off alone: its recorder stops listening (the rest of analytics stays).
  if (options.history === false) await app.get(HistoryRecording).beforeApplicationShutdown();
  if (!options.analytics) {
    const bus: unknown = app.get(EventBus);
    (bus as { subscribers: Set<unknown> }).subscribers.clear();
    app.get(EventEmitter2).removeAllListeners();
  }
  if (probe !== undefined) {
    const gateway = app.get<BrokerFleet>(BROKER_FLEET).gateway('default');
    const open = gateway.openPosition.bind(gateway);
    const idBySignal = new Map<string, string>();
    gateway.openPosition = (request: OpenOrderRequest) => {
      const signalId = idBySignal.get(request.request_id);
      if (signalId !== undefined) probe.sent.set(signalId, performance.now());
      return open(request);
    };
    app.get(EventBus).subscribe((e) => {
      if (e.type === 'signal_received')
        idBySignal.set(openRequestId(e.payload.signal_id), e.payload.signal_id);
    });
    probeServer(app.getHttpServer() as Server, probe);
  }
  const port = ((app.getHttpServer() as Server).address() as { port: number }).port;
  return {
    app,
    port,
    close: async () => {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function waitForTrades(app: INestApplication, target: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const timer = setTimeout(
      () => reject(new Error(`only ${done} of ${target} signals ended within ${timeoutMs} ms`)),
      timeoutMs,
    );
    app.get(EventBus).subscribe((e) => {
      if (e.type === 'trade_executed' || e.type === 'trade_failed') {
        done++;
        if (done === target) {
          clearTimeout(timer);
          resolve(performance.now());
        }
      }
    });
  });
}

export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** Signals whose arrival-to-order latency a p99 is taken over: enough that one pause does not decide it. */
export const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 5000);

/**
 * Arrival-to-order-sent latencies of LATENCY_SAMPLES signals at 200/s on a fresh service, after a
 * warm-up of 400 signals (JIT, first file writes) that is not measured: the target is steady state.
 */
export async function latencyRun(
  probe: LatencyProbe,
  options: { analytics: boolean; history?: boolean },
): Promise<number[]> {
  const service = await startService({}, probe, options);
  const warmedUp = waitForTrades(service.app, 400, 60_000);
  await runLoad(service.port, {
    count: 400,
    concurrency: 32,
    ratePerSecond: 200,
    prefix: `warm-${String(options.analytics)}-${String(options.history)}`,
  });
  await warmedUp;
  probe.reset();
  const done = waitForTrades(service.app, LATENCY_SAMPLES, 120_000);
  await runLoad(service.port, {
    count: LATENCY_SAMPLES,
    concurrency: 32,
    ratePerSecond: 200,
    prefix: `lat-${String(options.analytics)}-${String(options.history)}`,
  });
  await done;
  const latencies = probe.record();
  await service.close();
  return latencies;
}

/** POSTs one signed signal (tagged for the probes with x-bench-id) and answers its status. */
export async function signedSignal(
  port: number,
  body: Record<string, unknown> & { id: string },
): Promise<number> {
  const text = JSON.stringify(body);
  const ts = String(Date.now());
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/signals`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-timestamp': ts,
      'x-signature': createHmac('sha256', SECRET).update(`${ts}.`).update(text).digest('hex'),
      'x-bench-id': body.id,
    },
    body: text,
  });
  await response.arrayBuffer();
  return response.status;
}
