/**
 * `npm run bench`: the performance targets of the issues, measured against baselines in the same
 * run, written as a Markdown table to bench-results/report.md (and to stderr).
 *
 * 1. Inbox to fill on the paper account: sustained signals/s (after the same 2,000-signal warm-up
 *    on both sides), and p50/p99 of request arrival to order sent at 200 signals/s; baseline: a
 *    bare node:http server doing the same parse, verify, append + fdatasync and forward, so our
 *    figures are also reported as ratios to it.
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
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { SystemClock } from '@app/core';
import { loadConfig } from '@app/config';
import { createHttpBridgeGateway } from '@app/mt5/http/create-http-bridge-gateway';
import { startFakeMt5Bridge } from '../../test/fakes/fake-mt5-bridge';
import { benchAccounts } from './accounts-bench';
import { benchScaleOut } from './scale-out-bench';
import { benchDashboard } from './dashboard-bench';
import { benchHistory } from './history-bench';
import {
  fmt,
  LATENCY_SAMPLES,
  latencyRun,
  LatencyProbe,
  percentile,
  rows,
  runLoad,
  say,
  SECRET,
  startBareServer,
  startService,
  THROUGHPUT_CLIENTS,
  waitForTrades,
} from './bench-support';

/** One baseline server's sustained rate and its arrival-to-forward latencies at 200/s. */
async function measureBaseline(
  durable: boolean,
  count: number,
): Promise<{ rate: number; latency: number[] }> {
  const probe = new LatencyProbe();
  const bare = await startBareServer(probe, { durable });
  // The same warm-up as the service gets: sustained means after the JIT has settled, on both sides.
  await runLoad(bare.port, {
    count: WARM_UP_SIGNALS,
    concurrency: THROUGHPUT_CLIENTS,
    prefix: `bare-w-${durable}`,
  });
  const run = await runLoad(bare.port, {
    count,
    concurrency: THROUGHPUT_CLIENTS,
    prefix: `bare-t-${durable}`,
  });
  probe.reset();
  await runLoad(bare.port, {
    count: LATENCY_SAMPLES,
    concurrency: 32,
    ratePerSecond: 200,
    prefix: `bare-l-${durable}`,
  });
  const latency = probe.record();
  await bare.close();
  return { rate: (count / run.elapsedMs) * 1000, latency };
}

/** Signals sent before a throughput run, to the service and to each baseline alike, and not counted. */
const WARM_UP_SIGNALS = 2000;

async function benchInbox(): Promise<void> {
  const count = Number(process.env.BENCH_SIGNALS ?? 4000);
  // Baselines first, on an idle process: the fair one makes one record durable per signal, as we do.
  const fair = await measureBaseline(true, count);
  const bare = await measureBaseline(false, count);

  const probe = new LatencyProbe();
  const service = await startService({}, probe);
  const warmedUp = waitForTrades(service.app, WARM_UP_SIGNALS, 120_000);
  await runLoad(service.port, { count: WARM_UP_SIGNALS, concurrency: THROUGHPUT_CLIENTS, prefix: 'svc-w' });
  await warmedUp;
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

  const p50 = percentile(latency, 50);
  const p99 = percentile(latency, 99);
  const fp50 = percentile(fair.latency, 50);
  const fp99 = percentile(fair.latency, 99);
  const bp99 = percentile(bare.latency, 99);
  const acceptedRate = (count / load.elapsedMs) * 1000;
  const fairLabel = 'node:http + one fdatasync per signal';
  rows.push([
    'inbox accepted (202), sustained',
    `${fmt(acceptedRate, 0)} signals/s`,
    `${fmt(fair.rate, 0)} req/s (${fairLabel})`,
    fmt(acceptedRate / fair.rate),
    '-',
    '-',
  ]);
  rows.push([
    'inbox to fill, sustained (paper, one account)',
    `${fmt(throughput, 0)} signals/s`,
    `${fmt(fair.rate, 0)} req/s (${fairLabel})`,
    fmt(throughput / fair.rate),
    '>= 0.7x the fair baseline, and >= 2,000 signals/s',
    throughput >= 0.7 * fair.rate && throughput >= 2000 ? 'met' : 'NOT met',
  ]);
  rows.push([
    'inbox to fill, against a baseline without any disk write',
    `${fmt(throughput, 0)} signals/s`,
    `${fmt(bare.rate, 0)} req/s (bare node:http, no fsync)`,
    fmt(throughput / bare.rate),
    '-',
    '-',
  ]);
  rows.push([
    `arrival to order sent p50 @200/s (${latency.length} samples)`,
    `${fmt(p50, 3)} ms`,
    `${fmt(fp50, 3)} ms (${fairLabel})`,
    fmt(p50 / fp50),
    '-',
    '-',
  ]);
  rows.push([
    `arrival to order sent p99 @200/s (${latency.length} samples)`,
    `${fmt(p99, 3)} ms`,
    `${fmt(fp99, 3)} ms (${fairLabel}; no fsync: ${fmt(bp99, 3)} ms)`,
    fmt(p99 / fp99),
    '<= 3x the fair baseline',
    p99 <= 3 * fp99 ? 'met' : 'NOT met',
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
  // BENCH_ONLY=accounts (or inbox, drawdown, analytics, startup, scale-out, dashboard, history): one part, for a quicker look.
  const only = process.env.BENCH_ONLY;
  const part = (name: string) => only === undefined || only.split(',').includes(name);
  if (part('inbox')) {
    say('benchmark: inbox to fill...');
    await benchInbox();
  }
  if (part('drawdown')) {
    say('benchmark: drawdown reaction...');
    await benchDrawdown();
  }
  if (part('analytics')) {
    say('benchmark: analytics cost per event...');
    await benchAnalytics();
  }
  if (part('startup')) {
    say('benchmark: start-up time...');
    await benchStartup();
  }
  if (part('accounts')) await benchAccounts(buildOnce());
  if (part('scale-out')) await benchScaleOut();
  if (part('dashboard')) await benchDashboard();
  if (part('history')) await benchHistory();
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
