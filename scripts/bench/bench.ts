/**
 * `npm run bench`: the performance targets of the issues, measured against baselines in the same
 * run, written as a Markdown table to bench-results/report.md (and to stderr).
 *
 * 1. Inbox to fill on the paper account: sustained signals/s, and p50/p99 of request arrival to
 *    order sent at 200 signals/s; baseline: a bare node:http server doing the same parse, verify
 *    and forward, so our figures are also reported as ratios to it.
 * 2. Drawdown reaction: equity breach visible at a loopback bridge to the last close request, with
 *    100 open positions; baseline: the same 100 closes sent directly.
 * 3. Analytics cost per published event (scripts/bench/analytics-bench.cjs against the compiled
 *    service): ns/event with every analytics consumer attached versus the bare event bus, and the
 *    loop iteration p99 on versus off (target from the analytics issue: < 5% added).
 * 4. Start-up: spawning the compiled service to its first /health/ready 200; baseline: spawning a
 *    bare node:http server to its first answer, same polling, same run.
 *
 * Run with the sources transpiled on the fly (scripts/register-ts.cjs). Service logs go to
 * stdout, which the npm script discards: logging is part of the measured cost.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { INestApplication } from '@nestjs/common';
import { BROKER_FLEET, openRequestId, SystemClock, type BrokerFleet, type OpenOrderRequest } from '@app/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { EventBus } from '@app/common';
import { loadConfig } from '@app/config';
import { createHttpBridgeGateway } from '@app/mt5/http/create-http-bridge-gateway';
import { createApp } from '../../apps/trading-bot/src/bootstrap/create-app';
import { startFakeMt5Bridge } from '../../test/fakes/fake-mt5-bridge';

const SECRET = 'bench-inbox-secret-0123456789';
/** Concurrent senders in the throughput runs (ours and the baseline alike). */
const THROUGHPUT_CLIENTS = Number(process.env.BENCH_CLIENTS ?? 128);
const rows: string[][] = [];
const say = (line: string) => process.stderr.write(`${line}\n`);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function runLoad(
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
class LatencyProbe {
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

function probeServer(server: Server, probe: LatencyProbe): void {
  server.prependListener('request', (req) => {
    const id = req.headers['x-bench-id'];
    if (typeof id === 'string') probe.arrivals.set(id, performance.now());
  });
}

/** The baseline: node:http reading, verifying, parsing and forwarding a signal, nothing else. */
async function startBareServer(probe: LatencyProbe): Promise<{ port: number; close: () => Promise<void> }> {
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
      probe.sent.set(body.id, performance.now()); // "forward": the order would be sent here
      res
        .writeHead(202, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: body.id, status: 'accepted' }));
    });
  });
  probeServer(server, probe);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/**
 * Start the real app in this process. `analytics: false` detaches every event subscriber and
 * listener (metrics, analytics, event ring, stream, webhooks, heartbeat counters) after start,
 * so the same path can be measured with and without them.
 */
async function startService(
  env: Record<string, string>,
  probe?: LatencyProbe,
  options: { analytics: boolean } = { analytics: true },
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

function waitForTrades(app: INestApplication, target: number, timeoutMs: number): Promise<number> {
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

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/**
 * Arrival-to-order-sent latencies of 1,000 signals at 200/s on a fresh service, after a warm-up
 * of 400 signals (JIT, first file writes) that is not measured: the target is steady state.
 */
async function latencyRun(probe: LatencyProbe, options: { analytics: boolean }): Promise<number[]> {
  const service = await startService({}, probe, options);
  const warmedUp = waitForTrades(service.app, 400, 60_000);
  await runLoad(service.port, {
    count: 400,
    concurrency: 32,
    ratePerSecond: 200,
    prefix: `warm-${String(options.analytics)}`,
  });
  await warmedUp;
  probe.reset();
  const done = waitForTrades(service.app, 1000, 60_000);
  await runLoad(service.port, {
    count: 1000,
    concurrency: 32,
    ratePerSecond: 200,
    prefix: `lat-${String(options.analytics)}`,
  });
  await done;
  const latencies = probe.record();
  await service.close();
  return latencies;
}

async function benchInbox(): Promise<void> {
  const count = Number(process.env.BENCH_SIGNALS ?? 4000);
  // Baseline first, on an idle process.
  const bareProbe = new LatencyProbe();
  const bare = await startBareServer(bareProbe);
  const bareThroughput = await runLoad(bare.port, {
    count,
    concurrency: THROUGHPUT_CLIENTS,
    prefix: 'bare-t',
  });
  bareProbe.reset();
  await runLoad(bare.port, { count: 1000, concurrency: 32, ratePerSecond: 200, prefix: 'bare-l' });
  const bareLatency = bareProbe.record();
  await bare.close();

  const probe = new LatencyProbe();
  const service = await startService({}, probe);
  const started = performance.now();
  const finished = waitForTrades(service.app, count, 120_000);
  const load = await runLoad(service.port, { count, concurrency: THROUGHPUT_CLIENTS, prefix: 'svc-t' });
  const end = await finished;
  const throughput = (count / (end - started)) * 1000;
  await service.close();
  // A fresh account for the latency run: thousands of positions left by the throughput run are
  // not what a live account holds, and their bookkeeping would be measured instead of the path.
  const latency = await latencyRun(probe, { analytics: true });
  // The same latency run with every event subscriber detached: what analytics adds to the path.
  const latencyWithoutAnalytics = await latencyRun(probe, { analytics: false });

  const bareRate = (count / bareThroughput.elapsedMs) * 1000;
  const p50 = percentile(latency, 50);
  const p99 = percentile(latency, 99);
  const bp50 = percentile(bareLatency, 50);
  const bp99 = percentile(bareLatency, 99);
  const acceptedRate = (count / load.elapsedMs) * 1000;
  rows.push([
    'inbox accepted (202), sustained',
    `${fmt(acceptedRate, 0)} signals/s`,
    `${fmt(bareRate, 0)} req/s (bare node:http)`,
    fmt(acceptedRate / bareRate),
    '-',
    '-',
  ]);
  rows.push([
    'inbox to fill, sustained (paper)',
    `${fmt(throughput, 0)} signals/s`,
    `${fmt(bareRate, 0)} req/s (bare node:http)`,
    fmt(throughput / bareRate),
    '>= 2,000 signals/s',
    throughput >= 2000 ? 'met' : 'NOT met',
  ]);
  rows.push([
    'arrival to order sent p50 @200/s',
    `${fmt(p50, 3)} ms`,
    `${fmt(bp50, 3)} ms`,
    fmt(p50 / bp50),
    '-',
    '-',
  ]);
  rows.push([
    'arrival to order sent p99 @200/s',
    `${fmt(p99, 3)} ms`,
    `${fmt(bp99, 3)} ms`,
    fmt(p99 / bp99),
    'p99 < 2 ms',
    p99 < 2 ? 'met' : 'NOT met',
  ]);
  const p99Plain = percentile(latencyWithoutAnalytics, 99);
  rows.push([
    'arrival to order sent p99 @200/s, analytics on vs off',
    `${fmt(p99, 3)} ms on`,
    `${fmt(p99Plain, 3)} ms off (subscribers detached)`,
    fmt(p99 / p99Plain),
    'analytics adds < 5% (ratio < 1.05)',
    p99 / p99Plain < 1.05 ? 'met' : 'NOT met',
  ]);
  if (load.failed > 0) say(`warning: ${load.failed} signals were not accepted during the throughput run`);
}

async function benchDrawdown(): Promise<void> {
  const checkIntervalMs = 1000;
  const positions = 100;
  const bridge = await startFakeMt5Bridge({ balance: 100_000 });
  for (let i = 0; i < positions; i++)
    bridge.addPosition({ symbol: ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'][i % 4], type: 'buy', volume: 0.1 });
  const service = await startService({
    MT5_GATEWAY: 'http',
    MT5_BRIDGE_URL: bridge.url,
    MT5_BRIDGE_KEY_ID: bridge.keyId,
    MT5_BRIDGE_SECRET: bridge.secret,
    EQUITY_CHECK_INTERVAL_MS: String(checkIntervalMs),
  });
  await new Promise((r) => setTimeout(r, 1500)); // baseline set
  const breachAt = performance.now();
  bridge.setEquity(70_000);
  const until = Date.now() + 30_000;
  while (bridge.positions().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  const closes = bridge.requestsTo('POST', /\/close$/);
  const lastClose = Math.max(...closes.map((r) => r.receivedAt));
  const reaction = lastClose - breachAt;
  await service.close();

  // Baseline: the same closes sent straight to a fresh bridge with the same concurrency, no service.
  const direct = await startFakeMt5Bridge({ balance: 100_000 });
  const tickets = Array.from(
    { length: positions },
    () => direct.addPosition({ symbol: 'EURUSD', type: 'buy', volume: 0.1 }).ticket,
  );
  const directConfig = loadConfig({
    MT5_GATEWAY: 'http',
    MT5_BRIDGE_URL: direct.url,
    MT5_BRIDGE_KEY_ID: direct.keyId,
    MT5_BRIDGE_SECRET: direct.secret,
    SIGNALS_HMAC_SECRET: SECRET,
  });
  if (!directConfig.ok) throw new Error(JSON.stringify(directConfig.problems));
  const gateway = createHttpBridgeGateway(directConfig.config.accounts[0], new SystemClock());
  const directStart = performance.now();
  const queue = [...tickets];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift())
        await gateway.closePosition({ request_id: `direct-${t}`, ticket: t });
    }),
  );
  const directMs = performance.now() - directStart;
  gateway.close();
  await direct.close();
  await bridge.close();

  const target = checkIntervalMs + 100;
  rows.push([
    `drawdown breach to last close, ${positions} positions (confirm reads 2, check ${checkIntervalMs} ms)`,
    `${fmt(reaction, 0)} ms`,
    `${fmt(directMs, 0)} ms (the ${positions} closes alone)`,
    fmt(reaction / target),
    `<= ${target} ms (one check interval + 100 ms)`,
    reaction <= target ? 'met' : 'NOT met',
  ]);
}

/** The compiled service is what start-up and analytics measure: build it if the sources changed. */
function buildOnce(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildIfStale, entry } = require('../build-if-stale.cjs') as {
    buildIfStale: () => void;
    entry: string;
  };
  buildIfStale();
  return entry;
}

async function benchAnalytics(): Promise<void> {
  buildOnce();
  const run = spawnSync(process.execPath, [join(__dirname, 'analytics-bench.cjs')], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_QUICK: process.env.BENCH_QUICK ?? '0' },
    timeout: 600_000,
  });
  if (run.status !== 0) throw new Error(`analytics bench failed: ${run.stderr}`);
  // Its table rows: | label | off | on | on/off |
  const row = (label: RegExp) =>
    run.stdout
      .split('\n')
      .find((l) => label.test(l))
      ?.split('|')
      .map((c) => c.trim())
      .filter((c) => c !== '');
  const publish = row(/^\| publish cost, ns\/event/);
  const added = row(/^\| analytics added per event/);
  const p99 = row(/^\| loop iteration \(4 events\) p99,/);
  if (publish === undefined || p99 === undefined)
    throw new Error(`analytics bench output not understood:\n${run.stdout}`);
  rows.push([
    'publish cost per event, all analytics consumers attached',
    `${publish[2]} ns/event (adds ${added?.[2] ?? '?'} ns)`,
    `${publish[1]} ns/event (bare event bus: log + emit)`,
    publish[3] ?? 'n/a',
    '-',
    '-',
  ]);
  const ratio = Number(p99[3]);
  rows.push([
    'loop iteration p99 (4 events), analytics on (micro-loop: publishes only, no broker I/O)',
    `${p99[2]} µs`,
    `${p99[1]} µs (analytics off)`,
    p99[3] ?? 'n/a',
    // The < 5% target is for the real path (the "analytics on vs off" row); a loop that only
    // publishes magnifies the cost, so this row is for tracking, not a verdict.
    '- (target judged on the real path)',
    `${ratio.toFixed(2)}x on a publish-only loop`,
  ]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Spawn a process and poll `url` every 5 ms until it answers with `status`; ms from spawn. */
async function timeToAnswer(
  args: string[],
  env: Record<string, string>,
  url: string,
  status: number,
): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      if (performance.now() - started > 60_000) throw new Error(`${url} did not answer ${status} in 60 s`);
      try {
        const answer = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        await answer.arrayBuffer();
        if (answer.status === status) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) =>
      child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r),
    );
  }
}

async function benchStartup(): Promise<void> {
  const entry = buildOnce();
  const runs = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
  const ours: number[] = [];
  const bare: number[] = [];
  // Interleaved, so load drift on the machine hits both alike.
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    bare.push(
      await timeToAnswer(
        ['-e', `require('http').createServer((q,s)=>s.end()).listen(${port})`],
        {},
        `http://127.0.0.1:${port}/`,
        200,
      ),
    );
    const servicePort = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'bench-startup-'));
    ours.push(
      await timeToAnswer(
        [entry],
        { PORT: String(servicePort), STATE_DIR: dir, LOG_LEVEL: 'warn', SIGNAL_SOURCES: 'inbox', TZ: 'UTC' },
        `http://127.0.0.1:${servicePort}/health/ready`,
        200,
      ),
    );
    await rm(dir, { recursive: true, force: true });
  }
  const ourMedian = percentile(ours, 50);
  const bareMedian = percentile(bare, 50);
  rows.push([
    `start-up: spawn to /health/ready 200 (paper, median of ${runs})`,
    `${fmt(ourMedian, 0)} ms (max ${fmt(Math.max(...ours), 0)})`,
    `${fmt(bareMedian, 0)} ms (bare node:http to first answer)`,
    fmt(ourMedian / bareMedian),
    '-',
    '-',
  ]);
}

async function main(): Promise<void> {
  say('benchmark: inbox to fill...');
  await benchInbox();
  say('benchmark: drawdown reaction...');
  await benchDrawdown();
  say('benchmark: analytics cost per event...');
  await benchAnalytics();
  say('benchmark: start-up time...');
  await benchStartup();
  const header = ['measure', 'ours', 'baseline (same run)', 'ratio', 'target', 'verdict'];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const report = `# Benchmark report\n\nNode ${process.version}, ${new Date().toISOString()}. Ratios: ours / baseline (drawdown: ours / target).\n\n${table}\n`;
  await mkdir('bench-results', { recursive: true });
  await writeFile('bench-results/report.md', report);
  say(`\n${report}`);
  process.exit(0);
}

main().catch((error: unknown) => {
  say(`benchmark failed: ${String(error)}`);
  process.exit(1);
});
