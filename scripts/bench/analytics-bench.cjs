#!/usr/bin/env node
// Cost of analytics on event publishing, measured against the compiled service in one run:
//   1. ns per published event with every analytics consumer attached (the @OnEvent listeners of
//      AnalyticsService, Prometheus counters, the recent-events ring, the live-stream hub with one
//      reading client, one webhook to a local receiver) versus the bare EventBus (pino log + emit);
//   2. p99 of a simple loop iteration that publishes one signal's events plus an equity sample,
//      analytics on versus off, interleaved rounds so drift hits both alike; reported as a ratio.
// Usage: npm run build && node scripts/bench/analytics-bench.cjs
//        (ANALYTICS_BENCH_DIST=<outDir of the build> to use another build; BENCH_QUICK=1 for a short run)
// Prints Markdown table rows. The log level is silent in both modes: the log line costs the same
// with analytics on or off and would only dilute the difference.
'use strict';
const { join, resolve } = require('node:path');
const { createServer, get } = require('node:http');
const Module = require('node:module');

const root = resolve(__dirname, '..', '..');
const dist = resolve(process.env.ANALYTICS_BENCH_DIST ?? join(root, 'dist/apps/trading-bot'));
const quick = process.env.BENCH_QUICK === '1';

// `nest build` rewrites the @app/* aliases; a plain `tsc` build does not. Map them either way.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const alias = /^@app\/([a-z0-9-]+)(\/.*)?$/.exec(request);
  if (alias) request = join(dist, 'libs', alias[1], 'src', alias[2] ?? '');
  return resolveFilename.call(this, request, ...rest);
};

require('reflect-metadata');
const { Module: NestModule } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { EventEmitterModule } = require('@nestjs/event-emitter');
const { LoggerModule } = require('nestjs-pino');
const lib = (name, file) => require(join(dist, 'libs', name, 'src', file));
const { EventBus } = lib('common', 'events/event-bus');
const { APP_CONFIG, CLOCK } = lib('config', 'config.tokens');
const { SystemClock } = lib('core', 'time/clock');
const { SCHEDULER } = lib('core', 'time/scheduler');
const { SystemScheduler } = lib('common', 'time/system-scheduler');
const { SIGNALS_HMAC_SECRET } = lib('signals', 'signals.tokens');
const { DrawdownGuard } = lib('core', 'risk/drawdown-guard');
const { AccountRegistry } = lib('core', 'account/account-registry');
const { SCALE_OUT } = lib('core', 'ownership/scale-out.port');
const { AnalyticsService } = lib('analytics', 'analytics/analytics.service');
const { TradingMetrics } = lib('analytics', 'metrics/trading-metrics');
const { AnalyticsMetrics } = lib('analytics', 'metrics/analytics-metrics');
const { RecentEvents } = lib('analytics', 'events/recent-events');
const { EventStreamHub } = lib('analytics', 'events/event-stream-hub');
const { WebhookDispatcher } = lib('analytics', 'webhooks/webhook-dispatcher');

/** TradingMetrics also depends on whatever other modules feed it (today AlertDrops): provide those real classes when present. */
function optionalProviders() {
  const providers = [];
  try {
    providers.push(lib('alerts', 'alert-drops').AlertDrops);
  } catch {
    // not in this build
  }
  try {
    // TradingMetrics mirrors the platform source's poll counters at scrape time only: a stand-in
    // with zero counters keeps the per-event cost what it is (no polling runs in the service either
    // unless SIGNAL_SOURCES=platform).
    const { PlatformSignalSource } = lib('signals', 'platform/platform-signal-source');
    providers.push({ provide: PlatformSignalSource, useValue: { stats: { polls: 0, pollFailures: 0 } } });
  } catch {
    // not in this build
  }
  return providers;
}

function moduleOf(providers) {
  class BenchModule {}
  NestModule({
    imports: [
      EventEmitterModule.forRoot({ wildcard: false, maxListeners: 50 }),
      LoggerModule.forRoot({ pinoHttp: { level: 'silent' } }),
    ],
    providers: [
      EventBus,
      { provide: CLOCK, useValue: new SystemClock() },
      { provide: SCHEDULER, useValue: new SystemScheduler() },
      ...providers,
    ],
  })(BenchModule);
  return BenchModule;
}

/** A stand-in for the guard: TradingMetrics reads its snapshot only at scrape time. */
const guardStub = {
  snapshot: () => ({ equity: 10000, drawdownPercent: 0, capPercent: 20, halted: false, openPositions: 0 }),
};

async function startContexts(webhookUrl) {
  const config = { loopId: 'bench', accounts: [{ id: 'default' }], analytics: { webhookUrls: [webhookUrl] } };
  const on = await NestFactory.createApplicationContext(
    moduleOf([
      { provide: APP_CONFIG, useValue: config },
      { provide: SIGNALS_HMAC_SECRET, useValue: 'bench-secret-bench-secret' },
      { provide: DrawdownGuard, useValue: guardStub },
      // The accounts' gauges are read at scrape time only; the per-event cost does not depend on them.
      { provide: AccountRegistry, useValue: new AccountRegistry() },
      { provide: SCALE_OUT, useValue: null },
      ...optionalProviders(),
      TradingMetrics,
      AnalyticsMetrics,
      AnalyticsService,
      RecentEvents,
      EventStreamHub,
      WebhookDispatcher,
    ]),
    { logger: false, abortOnError: false },
  );
  const off = await NestFactory.createApplicationContext(moduleOf([]), {
    logger: false,
    abortOnError: false,
  });
  await on.init();
  await off.init();
  return { on, off };
}

/** A webhook receiver (answers 204) in this process: its work costs the loop what it would cost the service. */
async function startWebhookSink() {
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${sink.address().port}/hook`,
    close: () => (sink.closeAllConnections(), sink.close()),
  };
}

/** One SSE client that reads everything, attached to the hub through a bare node:http server. */
async function startStreamClient(hub) {
  const server = createServer((_req, res) => hub.attach(res));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  let chunks = 0;
  const client = get(`http://127.0.0.1:${server.address().port}/`, (res) =>
    res.on('data', () => (chunks += 1)),
  );
  while (hub.stats().clients === 0) await new Promise((r) => setTimeout(r, 10));
  return {
    chunks: () => chunks,
    close: () => (client.destroy(), server.closeAllConnections(), server.close()),
  };
}

let seq = 0;
function publishIteration(bus) {
  const id = `bench-${++seq}`;
  bus.publish('signal_received', {
    signal_id: id,
    instrument: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    source: 'bench',
    created_at: '2026-11-24T10:00:00.000Z',
  });
  bus.publish('signal_approved', { signal_id: id, approval_time_ms: 0, approved_by: 'auto' });
  bus.publish('trade_executed', {
    signal_id: id,
    ticket: seq,
    instrument: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    fill_price: 1.0912,
    request_id: `open:${id}`,
    latency_ms: 3 + (seq % 50),
    execution_time_ms: 1 + (seq % 7),
    attempts: 1,
  });
  bus.publish('equity_sample', {
    equity: 10000 - (seq % 300),
    baseline_equity: 10000,
    drawdown_percent: (seq % 300) / 100,
  });
}

const EVENTS_PER_ITERATION = 4;

/** ns per event over `iterations` back-to-back iterations (no yielding: the raw synchronous cost). */
function nsPerEvent(bus, iterations) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) publishIteration(bus);
  return Number(process.hrtime.bigint() - start) / (iterations * EVENTS_PER_ITERATION);
}

/** Durations (ns) of single iterations, yielding to the event loop every 50 so I/O (webhook, stream) runs. */
async function iterationTimes(bus, iterations, out) {
  for (let i = 0; i < iterations; i += 1) {
    const start = process.hrtime.bigint();
    publishIteration(bus);
    out.push(Number(process.hrtime.bigint() - start));
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const fmt = (n, d = 0) => n.toFixed(d);

async function main() {
  const sink = await startWebhookSink();
  const ctx = await startContexts(sink.url);
  const onBus = ctx.on.get(EventBus);
  const offBus = ctx.off.get(EventBus);
  const stream = await startStreamClient(ctx.on.get(EventStreamHub));

  const warm = quick ? 5_000 : 20_000;
  nsPerEvent(offBus, warm);
  nsPerEvent(onBus, warm);

  const rounds = quick ? 3 : 7;
  const perRound = quick ? 10_000 : 30_000;
  const nsOff = [];
  const nsOn = [];
  const loopOff = [];
  const loopOn = [];
  for (let r = 0; r < rounds; r += 1) {
    nsOff.push(nsPerEvent(offBus, perRound));
    nsOn.push(nsPerEvent(onBus, perRound));
    await new Promise((res) => setTimeout(res, 20)); // let the webhook queue and the stream drain a little
    await iterationTimes(offBus, perRound / 2, loopOff);
    await iterationTimes(onBus, perRound / 2, loopOn);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const offNs = median(nsOff);
  const onNs = median(nsOn);
  loopOff.sort((a, b) => a - b);
  loopOn.sort((a, b) => a - b);
  const p = (xs, q) => percentile(xs, q) / 1000; // µs
  const analytics = ctx.on.get(AnalyticsService).report();
  const metricsText = await ctx.on.get(TradingMetrics).render();
  const delivered =
    /trading_webhook_events_total\{webhook="0",outcome="delivered"[^}]*\} (\d+)/.exec(
      metricsText.body,
    )?.[1] ?? '?';
  const dropped =
    /trading_webhook_events_total\{webhook="0",outcome="dropped"[^}]*\} (\d+)/.exec(metricsText.body)?.[1] ??
    '?';

  const rows = [
    '| measurement | analytics off | analytics on | on / off |',
    '| --- | ---: | ---: | ---: |',
    `| publish cost, ns/event (median of ${rounds} rounds of ${perRound * EVENTS_PER_ITERATION} events) | ${fmt(offNs)} | ${fmt(onNs)} | ${fmt(onNs / offNs, 2)} |`,
    `| analytics added per event, ns | - | ${fmt(onNs - offNs)} | - |`,
    `| loop iteration (4 events) p50, µs | ${fmt(p(loopOff, 50), 2)} | ${fmt(p(loopOn, 50), 2)} | ${fmt(p(loopOn, 50) / p(loopOff, 50), 2)} |`,
    `| loop iteration (4 events) p99, µs | ${fmt(p(loopOff, 99), 2)} | ${fmt(p(loopOn, 99), 2)} | ${fmt(p(loopOn, 99) / p(loopOff, 99), 2)} |`,
    `| loop iteration (4 events) p99.9, µs | ${fmt(p(loopOff, 99.9), 2)} | ${fmt(p(loopOn, 99.9), 2)} | ${fmt(p(loopOn, 99.9) / p(loopOff, 99.9), 2)} |`,
  ];
  process.stdout.write(`${rows.join('\n')}\n`);
  process.stdout.write(
    `\n(analytics saw ${analytics.latency_ms.signal_to_execution.count} trades; webhook delivered ${delivered}, dropped ${dropped} (queue ${1000}); stream client read ${stream.chunks()} chunks, dropped ${ctx.on.get(EventStreamHub).stats().dropped} time(s) for not reading fast enough)\n`,
  );
  stream.close();
  sink.close();
  await ctx.on.close();
  await ctx.off.close();
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`analytics bench failed: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  },
);
