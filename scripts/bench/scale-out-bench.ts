/**
 * Intake with durable commit on PostgreSQL (docs/scale-out.md, Intake), beside baselines measured
 * in the same run:
 *
 * - ours, intake: one service (in this process) with STATE_BACKEND=postgres on a throwaway
 *   PostgreSQL, signed inbox POSTs as fast as THROUGHPUT_CLIENTS senders allow, each signal for a
 *   few bridge accounts that another process owns (here the bench holds their leases, as that
 *   process would, and trades nothing): what a process of a scaled-out deployment spends on the
 *   signals it receives, the target's "per process". The sustained 202 rate after a warm-up.
 *   Then the bench gives the leases up: the service takes the accounts over and trades every
 *   pair of the run (the work committed is really there, and ends).
 * - ours, intake and trading in one process: the same service owning the accounts itself, on a
 *   fake bridge host in this process (in trials, paper accounts holding the thousands of
 *   positions a run opens stalled on writing their book snapshots), so each signal is also three
 *   orders, their fenced ledger updates and the fake terminals' work on the same two cores.
 * - the same service with the files backend (one fdatasync'd ledger append per claim);
 * - a bare node:http server doing one INSERT + COMMIT per request on the same database server
 *   (a pool as large as the service's), which is what one commit per request would give.
 *
 * "The database's share": the service's claims are group-committed one transaction at a time, so
 * the time with a claim transaction in flight, over the run's wall time, is the fraction of the
 * intake the process spends waiting on the database (the rest is HTTP, HMAC, parsing, fan-out and
 * trading). Measured by timing the ledger's commits inside the service.
 */
import { rm } from 'node:fs/promises';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import { Pool } from 'pg';
import { SIGNAL_LEDGER } from '@app/core';
import { migrate, PostgresLeaseStore } from '@app/state';
import { startThrowawayPostgres } from '@app/state/postgres/testing/throwaway-postgres';
import { startFakeBridgeHost } from '../../test/fakes/fake-bridge-host';
import { writeBridgeAccountsFile } from '../../test/support/bridge-accounts-file';
import {
  fmt,
  percentile,
  rows,
  runLoad,
  say,
  SECRET,
  startService,
  THROUGHPUT_CLIENTS,
  waitForTrades,
} from './bench-support';

/** Accounts every signal targets: a few, as a copy-trading channel would. */
const ACCOUNTS = Number(process.env.BENCH_SCALE_OUT_ACCOUNTS ?? 3);
const SIGNALS = Number(process.env.BENCH_SCALE_OUT_SIGNALS ?? 10_000);
const WARM_UP_SIGNALS = 2000;
/** What docs/scale-out.md gives a process by default (DATABASE_POOL_SIZE). */
const POOL_SIZE = 10;
const TARGET_RATE = 2000;
/** How long the pairs of a run may take to end after it, before those left are reported. */
const UNFINISHED_WAIT_MS = 120_000;
/** The bench as the process that owns the accounts in the intake-only run. */
const HOLDER = 'bench-lease-holder';
const HOLDER_TTL_MS = 10_000;

interface IntakeRun {
  /** Sustained 202s per second over the measured run. */
  rate: number;
  failed: number;
  /** Postgres only: ms with a claim transaction in flight, the transactions, and each claim's wait. */
  commitBusyMs?: number;
  /** Of commitBusyMs, the time waiting for a pooled connection. */
  connectWaitMs?: number;
  commits?: number;
  claimWaitMs?: number[];
  elapsedMs: number;
  /** Every (account, signal) of the warm-up ended (executed or failed) in time. */
  warmUpEnded?: boolean;
  /** Postgres only: (account, signal) pairs still accepted or approved a while after the run. */
  unfinished?: number;
  /** Postgres only: pairs not ended when the run's posts were all answered, and how long until none was left (or the wait ended). */
  backlog?: { pairs: number; ms: number };
}

/** Pairs not ended yet (polled until none is left or UNFINISHED_WAIT_MS), at the start and the end, and how long it took. */
async function unfinishedWork(pool: Pool): Promise<{ first: number; left: number; ms: number }> {
  const started = performance.now();
  let first: number | undefined;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM signal_work WHERE status IN ('accepted', 'approved')`,
    );
    const left = rows[0]?.n ?? -1;
    first ??= left;
    const ms = performance.now() - started;
    if (left === 0 || ms > UNFINISHED_WAIT_MS) return { first, left, ms };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What the bench reads of the PostgreSQL ledger: its group commit, timed from outside. */
interface TimedLedger {
  claim: (...args: unknown[]) => Promise<unknown>;
  commitBatch: (batch: unknown) => Promise<void>;
  commits: number;
  /** The pool its claim transactions take a connection from (reads go through it too). */
  pool: Pool;
}

function isTimedLedger(value: unknown): value is TimedLedger {
  const ledger = value as Partial<TimedLedger> | null;
  return (
    typeof ledger?.claim === 'function' &&
    typeof ledger.commitBatch === 'function' &&
    typeof ledger.commits === 'number' &&
    ledger.pool instanceof Pool
  );
}

/** ACCOUNTS bridge accounts, each a terminal of one fake bridge host in this process. */
async function startBridgeAccounts(): Promise<{ env: Record<string, string>; close: () => Promise<void> }> {
  const host = await startFakeBridgeHost({ accountDefaults: { balance: 100_000_000, price: 1.1 } });
  const entries = Array.from({ length: ACCOUNTS }, (_, i) => ({
    id: `so${i}`,
    bridge: host.addAccount(`t${i}`),
  }));
  const file = await writeBridgeAccountsFile(entries);
  // In postgres mode the accounts are database rows whose secrets are read from the process's own
  // environment (docs/scale-out.md, Accounts API), not from the config the bench hands createApp.
  Object.assign(process.env, file.env);
  // The run's requests are not kept: the fake's request log would grow by every order.
  const trim = setInterval(() => entries.forEach((e) => e.bridge.requests.splice(0)), 1_000);
  return {
    env: file.env,
    close: async () => {
      clearInterval(trim);
      await host.close();
      await rm(dirname(file.file), { recursive: true, force: true });
    },
  };
}

/**
 * Owns the ACCOUNTS accounts in `databaseUrl` as another process would (announced, leases held
 * and renewed every second), trading nothing, until `release`: then it gives them up and leaves,
 * and the service takes them over at once.
 */
async function holdAccountsElsewhere(databaseUrl: string): Promise<{ release: () => Promise<void> }> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  await migrate(pool);
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => `so${i}`);
  // The service's start upserts the real entries; the lease only needs the row.
  await pool.query(
    `INSERT INTO accounts (id, config) SELECT id, '{}'::jsonb FROM unnest($1::text[]) AS id ON CONFLICT DO NOTHING`,
    [ids],
  );
  const store = new PostgresLeaseStore(pool);
  await store.announce(HOLDER, HOLDER_TTL_MS);
  const held = await store.acquire(HOLDER, ACCOUNTS, HOLDER_TTL_MS);
  if (held.length !== ACCOUNTS) throw new Error(`the holder took ${held.length} of ${ACCOUNTS} accounts`);
  // A failed renewal is kept for `release` to throw: the run would not have been intake only.
  let failure: unknown;
  let renewing = Promise.resolve();
  const renew = setInterval(() => {
    renewing = store
      .announce(HOLDER, HOLDER_TTL_MS)
      .then(() => store.renew(HOLDER, held, HOLDER_TTL_MS))
      .then(({ lost }) => {
        if (lost.length > 0)
          throw new Error(`the holder lost ${lost.length} accounts: the run is not intake only`);
      })
      .catch((error: unknown) => {
        failure ??= error;
      });
  }, 1_000);
  return {
    release: async () => {
      clearInterval(renew);
      await renewing;
      if (failure !== undefined)
        throw failure instanceof Error
          ? failure
          : new Error(`the holder's renewal failed: ${JSON.stringify(failure)}`);
      await store.release(HOLDER, held);
      await store.leave(HOLDER);
      await pool.end();
    },
  };
}

/**
 * One service, warmed up, then SIGNALS posted as fast as allowed. Trading in this process: the
 * warm-up's trades end before the run. Accounts held elsewhere: nothing trades until the run is
 * measured, then the holder lets go and every pair is traded here.
 */
async function serviceRun(
  env: Record<string, string>,
  label: string,
  heldElsewhere?: { release: () => Promise<void> },
): Promise<IntakeRun> {
  const service = await startService({ ...env, LOG_LEVEL: 'warn' });
  try {
    say(`  ${label}: warm-up...`);
    const warmedUp =
      heldElsewhere === undefined
        ? waitForTrades(service.app, WARM_UP_SIGNALS * ACCOUNTS, 180_000)
        : Promise.resolve(0);
    await runLoad(service.port, {
      count: WARM_UP_SIGNALS,
      concurrency: THROUGHPUT_CLIENTS,
      prefix: `${label}-w`,
    });
    // Not all ending is a finding of its own (reported below), not a reason to measure nothing.
    const warmUpEnded = await warmedUp.then(
      () => true,
      (error: unknown) => {
        say(`  ${label}: ${String(error)}`);
        return false;
      },
    );
    const ledger: unknown = service.app.get(SIGNAL_LEDGER);
    let busyMs = 0;
    let connectMs = 0;
    const waits: number[] = [];
    let commitsBefore = 0;
    // Checked once: the timing below replaces what the check looks at.
    const timed = isTimedLedger(ledger) ? ledger : undefined;
    if (timed !== undefined) {
      // The claim transaction's wait for a pooled connection (shared with the trading writes),
      // apart from the transaction itself: only the ledger's own view of the pool is replaced.
      const pool = timed.pool;
      const timedConnect = async () => {
        const started = performance.now();
        const client = await pool.connect();
        connectMs += performance.now() - started;
        return client;
      };
      // The ledger calls connect (claims) and query (reads) of its pool, nothing else.
      const timedPool = { connect: timedConnect, query: pool.query.bind(pool) } as unknown as Pool;
      Object.defineProperty(timed, 'pool', { get: () => timedPool });
      const commitBatch = timed.commitBatch.bind(ledger);
      timed.commitBatch = async (batch: unknown) => {
        const started = performance.now();
        await commitBatch(batch);
        busyMs += performance.now() - started;
      };
      const claim = timed.claim.bind(ledger);
      timed.claim = async (...args: unknown[]) => {
        const started = performance.now();
        const outcome = await claim(...args);
        waits.push(performance.now() - started);
        return outcome;
      };
      commitsBefore = timed.commits;
    }
    say(`  ${label}: ${SIGNALS} signals...`);
    const load = await runLoad(service.port, {
      count: SIGNALS,
      concurrency: THROUGHPUT_CLIENTS,
      prefix: `${label}-t`,
    });
    if (heldElsewhere !== undefined) {
      say(`  ${label}: the holder lets go; the service trades the run...`);
      await heldElsewhere.release();
    }
    const work = timed === undefined ? undefined : await unfinishedWork(timed.pool);
    return {
      rate: ((SIGNALS - load.failed) / load.elapsedMs) * 1000,
      failed: load.failed,
      elapsedMs: load.elapsedMs,
      warmUpEnded,
      unfinished: work?.left,
      backlog: work === undefined ? undefined : { pairs: work.first, ms: work.ms },
      ...(timed !== undefined
        ? {
            commitBusyMs: busyMs,
            connectWaitMs: connectMs,
            commits: timed.commits - commitsBefore,
            claimWaitMs: waits,
          }
        : {}),
    };
  } finally {
    say(`  ${label}: closing...`);
    await service.close();
  }
}

/** node:http: verify, parse, one INSERT + COMMIT of the signal on its own, then 202. */
async function bareDatabaseRun(databaseUrl: string): Promise<IntakeRun> {
  const pool = new Pool({ connectionString: databaseUrl, max: POOL_SIZE });
  await pool.query('CREATE TABLE bench_signals (id text PRIMARY KEY, body jsonb NOT NULL)');
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = createHmac('sha256', SECRET)
        .update(`${String(req.headers['x-timestamp'])}.`)
        .update(raw)
        .digest();
      const given = Buffer.from(String(req.headers['x-signature']), 'hex');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.writeHead(401).end();
        return;
      }
      const body = JSON.parse(raw.toString('utf8')) as { id: string };
      // One statement outside a transaction block is its own transaction: INSERT + COMMIT.
      pool
        .query('INSERT INTO bench_signals (id, body) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          body.id,
          raw.toString('utf8'),
        ])
        .then(
          () =>
            res
              .writeHead(202, { 'content-type': 'application/json' })
              .end(JSON.stringify({ id: body.id, status: 'accepted' })),
          (error: unknown) => {
            say(`bare database baseline: ${String(error)}`);
            res.writeHead(503).end();
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    await runLoad(port, { count: WARM_UP_SIGNALS, concurrency: THROUGHPUT_CLIENTS, prefix: 'bare-pg-w' });
    const load = await runLoad(port, {
      count: SIGNALS,
      concurrency: THROUGHPUT_CLIENTS,
      prefix: 'bare-pg-t',
    });
    return {
      rate: ((SIGNALS - load.failed) / load.elapsedMs) * 1000,
      failed: load.failed,
      elapsedMs: load.elapsedMs,
    };
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r(undefined)));
    await pool.end();
  }
}

export async function benchScaleOut(): Promise<void> {
  say('benchmark: scale-out intake on PostgreSQL...');
  const db = await startThrowawayPostgres();
  const accounts = await startBridgeAccounts();
  let fresh: Awaited<ReturnType<typeof startBridgeAccounts>> | undefined;
  try {
    // Stopping must not close the thousands of positions the run opened: only intake is measured.
    const common = { ...accounts.env, CLOSE_ON_SHUTDOWN: 'false' };
    // The bare baseline first, on an idle database; then files, then ours.
    const bare = await bareDatabaseRun(await db.newDatabase());
    const files = await serviceRun(common, 'files');
    const postgresEnv = (databaseUrl: string) => ({
      ...common,
      STATE_BACKEND: 'postgres',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: String(POOL_SIZE),
      LOOP_ID: 'bench-scale-out',
      ADMIN_TOKEN: 'bench-scale-out-admin-token',
    });
    const trading = await serviceRun(postgresEnv(await db.newDatabase()), 'pg-trading');
    // Terminals of its own: flat (the others hold the tens of thousands of positions the runs
    // opened, and a takeover lists them), and no fencing token seen yet.
    fresh = await startBridgeAccounts();
    const intakeDatabase = await db.newDatabase();
    const holder = await holdAccountsElsewhere(intakeDatabase);
    const intake = await serviceRun({ ...postgresEnv(intakeDatabase), ...fresh.env }, 'pg-intake', holder);
    const verdict = (run: IntakeRun) =>
      run.rate >= TARGET_RATE && run.failed === 0 ? 'met' : `NOT met (${run.failed} not accepted)`;
    rows.push([
      `scale-out intake: 202s/s, one process, postgres (pool ${POOL_SIZE}), signal for ${ACCOUNTS} bridge accounts another process owns (after ${WARM_UP_SIGNALS} warm-up)`,
      `${fmt(intake.rate, 0)} signals/s`,
      `${fmt(bare.rate, 0)} req/s (node:http + pg pool of ${POOL_SIZE}, one autocommit INSERT per request)`,
      fmt(intake.rate / bare.rate),
      `>= ${TARGET_RATE} signals/s per process`,
      verdict(intake),
    ]);
    rows.push([
      `scale-out intake with the trading in the same process: the service owns the ${ACCOUNTS} accounts (3 orders and their ledger updates per signal, fake terminals in this process)`,
      `${fmt(trading.rate, 0)} signals/s`,
      `${fmt(files.rate, 0)} signals/s (same service and trading, files backend)`,
      fmt(trading.rate / files.rate),
      `>= ${TARGET_RATE} signals/s per process`,
      verdict(trading),
    ]);
    for (const [run, what] of [
      [intake, 'intake'],
      [trading, 'with trading'],
    ] as const) {
      const share = (run.commitBusyMs ?? NaN) / run.elapsedMs;
      const connectShare = (run.connectWaitMs ?? NaN) / run.elapsedMs;
      const waits = run.claimWaitMs ?? [];
      rows.push([
        `the database's share (${what}): wall time with a claim transaction in flight (group commit, one at a time) / run time; of it, waiting for a pooled connection`,
        `${fmt(share * 100, 1)} % (connection wait ${fmt(connectShare * 100, 1)} %; ${run.commits ?? '?'} commits, ${fmt(SIGNALS / (run.commits ?? NaN), 1)} signals each)`,
        '-',
        '-',
        '-',
        '-',
      ]);
      rows.push([
        `scale-out (${what}): (account, signal) pairs not ended ${UNFINISHED_WAIT_MS / 1000} s after the run${
          what === 'intake'
            ? ' (traded by the service once the holder let go)'
            : ` (warm-up ${run.warmUpEnded === true ? 'ended' : 'did NOT all end'} within 180 s)`
        }`,
        `${run.unfinished ?? '?'} still accepted or approved`,
        '0 (every accepted pair ends)',
        '-',
        '0',
        run.unfinished === 0 ? 'met' : 'NOT met',
      ]);
      if (what === 'intake' && run.backlog !== undefined)
        rows.push([
          "scale-out (intake): the run's backlog taken over (accounts the service took from the holder after the run, each with its unfinished signals restored)",
          `${run.backlog.pairs - (run.unfinished ?? 0)} of ${run.backlog.pairs} pairs ended in ${fmt(run.backlog.ms / 1000, 1)} s (${fmt(((run.backlog.pairs - (run.unfinished ?? 0)) * 1000) / run.backlog.ms, 0)} pairs/s)`,
          `${fmt(trading.rate * ACCOUNTS, 0)} pairs/s (the trading run's sustained rate)`,
          fmt(
            (run.backlog.pairs - (run.unfinished ?? 0)) / (run.backlog.ms / 1000) / (trading.rate * ACCOUNTS),
          ),
          '-',
          '-',
        ]);
      rows.push([
        `scale-out (${what}): claim wait (queued + committed) per signal, p50 / p99`,
        `${fmt(percentile(waits, 50), 2)} / ${fmt(percentile(waits, 99), 2)} ms`,
        `${fmt((1000 * THROUGHPUT_CLIENTS) / files.rate, 2)} ms (mean request time of the files run at ${THROUGHPUT_CLIENTS} clients)`,
        fmt(percentile(waits, 50) / ((1000 * THROUGHPUT_CLIENTS) / files.rate)),
        '-',
        '-',
      ]);
    }
  } finally {
    await db.stop();
    await accounts.close();
    await fresh?.close();
  }
}
