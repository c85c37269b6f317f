/**
 * The many-accounts targets (docs/accounts.md), each beside a baseline measured in the same run:
 *
 * 1. 2,000 paper accounts in one compiled service process: RSS after warm-up and idle CPU at
 *    EQUITY_CHECK_INTERVAL_MS=1000, every account fresh; baseline: the same process with one account
 *    (so the marginal memory and CPU per account are the difference / 1,999).
 * 2. One signal to 1,000 paper accounts: arrival to the last account's order sent, p99 over 20
 *    signals; baseline: the same signals to one paper account.
 * 3. One signal to 100 bridge accounts on a loopback fake bridge host: p50/p99 the same way;
 *    baseline: one bridge account.
 * 4. Isolation: the other accounts' arrival-to-order p99 while one account's bridge hangs every
 *    call, against the same run without the hanging account.
 */
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { BROKER_FLEET, openRequestId, type BrokerFleet, type OpenOrderRequest } from '@app/core';
import { startFakeBridgeHost, type FakeBridgeHost } from '../../test/fakes/fake-bridge-host';
import { fmt, percentile, rows, say, SECRET, signedSignal, startService } from './bench-support';

/** When each account's order of each signal was sent: signal id -> account id -> ms. */
class FanOutProbe {
  readonly arrivals = new Map<string, number>();
  readonly sent = new Map<string, Map<string, number>>();

  /** Wraps every account's gateway so each open records when it left. */
  attach(fleet: BrokerFleet, accountIds: readonly string[]): void {
    const signalOf = (requestId: string) => this.requestIds.get(requestId);
    for (const id of accountIds) {
      const gateway = fleet.gateway(id);
      const open = gateway.openPosition.bind(gateway);
      gateway.openPosition = (request: OpenOrderRequest) => {
        const signal = signalOf(request.request_id);
        if (signal !== undefined) {
          let byAccount = this.sent.get(signal);
          if (byAccount === undefined) this.sent.set(signal, (byAccount = new Map<string, number>()));
          if (!byAccount.has(id)) byAccount.set(id, performance.now());
        }
        return open(request);
      };
    }
  }

  private readonly requestIds = new Map<string, string>();

  expect(signalId: string): void {
    this.requestIds.set(openRequestId(signalId), signalId);
  }

  /** Resolves once `signalId` has been sent on `accounts` accounts. */
  async until(signalId: string, accounts: number, timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while ((this.sent.get(signalId)?.size ?? 0) < accounts) {
      if (performance.now() > deadline)
        throw new Error(
          `signal ${signalId}: ${this.sent.get(signalId)?.size ?? 0} of ${accounts} orders sent`,
        );
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Arrival to the last account's order, per signal. */
  lastOrderLatencies(): number[] {
    const out: number[] = [];
    for (const [signal, byAccount] of this.sent) {
      const arrived = this.arrivals.get(signal);
      if (arrived !== undefined) out.push(Math.max(...byAccount.values()) - arrived);
    }
    return out;
  }

  /** Arrival to each account's order, over every signal (skipping `except`). */
  perAccountLatencies(except?: string): number[] {
    const out: number[] = [];
    for (const [signal, byAccount] of this.sent) {
      const arrived = this.arrivals.get(signal);
      if (arrived === undefined) continue;
      for (const [account, at] of byAccount) if (account !== except) out.push(at - arrived);
    }
    return out;
  }
}

async function accountsFile(lines: string[]): Promise<{ file: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-accounts-'));
  const file = join(dir, 'accounts.yaml');
  await writeFile(file, `${lines.join('\n')}\n`);
  return { file, dir };
}

function paperAccounts(n: number): string[] {
  const lines = ['accounts:'];
  for (let i = 0; i < n; i++) lines.push(`  - id: p${String(i).padStart(4, '0')}`, '    gateway: paper');
  return lines;
}

/** Signals posted one at a time to a running service, each awaited on every target account. */
async function fanOutRun(
  env: Record<string, string>,
  accountIds: readonly string[],
  signals: number,
  options: { warmUp?: number; body?: (i: number) => Record<string, unknown> } = {},
): Promise<FanOutProbe> {
  const probe = new FanOutProbe();
  const service = await startService({ MAX_ORDERS_PER_SECOND: '100000', ...env });
  try {
    (service.app.getHttpServer() as Server).prependListener('request', (req) => {
      const id = req.headers['x-bench-id'];
      if (typeof id === 'string') probe.arrivals.set(id, performance.now());
    });
    probe.attach(service.app.get<BrokerFleet>(BROKER_FLEET), accountIds);
    const warmUp = options.warmUp ?? 3;
    for (let i = 0; i < warmUp + signals; i++) {
      const id = `${i < warmUp ? 'warm' : 'fan'}-${i}-${Date.now().toString(36)}`;
      probe.expect(id);
      const answer = await signedSignal(service.port, {
        id,
        instrument: 'EURUSD',
        side: i % 2 === 0 ? 'buy' : 'sell',
        volume: 0.01,
        ...options.body?.(i),
      });
      if (answer !== 202) throw new Error(`signal ${id} answered ${answer}`);
      await probe.until(id, accountIds.length);
      if (i < warmUp) {
        probe.arrivals.delete(id);
        probe.sent.delete(id);
      }
      // Let the fills, ledger writes and events of this signal settle before the next one.
      await new Promise((r) => setTimeout(r, 50));
    }
    return probe;
  } finally {
    await service.close();
  }
}

async function benchFanOutPaper(): Promise<void> {
  const accounts = Number(process.env.BENCH_FAN_OUT_ACCOUNTS ?? 1000);
  const signals = 20;
  const many = await accountsFile(paperAccounts(accounts));
  const one = await accountsFile(paperAccounts(1));
  const ids = Array.from({ length: accounts }, (_, i) => `p${String(i).padStart(4, '0')}`);
  const baseline = await fanOutRun({ ACCOUNTS_FILE: one.file, PAPER_BALANCE: '1000000' }, ['p0000'], signals);
  const ours = await fanOutRun({ ACCOUNTS_FILE: many.file, PAPER_BALANCE: '1000000' }, ids, signals);
  await rm(many.dir, { recursive: true, force: true });
  await rm(one.dir, { recursive: true, force: true });
  const p99 = percentile(ours.lastOrderLatencies(), 99);
  const p50 = percentile(ours.lastOrderLatencies(), 50);
  const base99 = percentile(baseline.lastOrderLatencies(), 99);
  rows.push([
    `one signal to ${accounts} paper accounts: arrival to the last order sent, p99 of ${signals} (p50 ${fmt(p50, 1)} ms)`,
    `${fmt(p99, 1)} ms`,
    `${fmt(base99, 2)} ms (the same signals to one paper account)`,
    fmt(p99 / base99),
    '<= 250 ms',
    p99 <= 250 ? 'met' : 'NOT met',
  ]);
}

/** `n` bridge accounts on one fake host, all on the default channel; the secrets through the environment. */
async function bridgeAccounts(host: FakeBridgeHost, n: number) {
  const lines = ['accounts:'];
  const env: Record<string, string> = {};
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `b${String(i).padStart(3, '0')}`;
    const account = host.addAccount(id);
    lines.push(
      `  - id: ${id}`,
      '    gateway: http',
      `    bridge: { url: "${account.url}", key_id: "${account.keyId}", secret_env: BENCH_SECRET_${i} }`,
    );
    env[`BENCH_SECRET_${i}`] = account.secret;
    ids.push(id);
  }
  const { file, dir } = await accountsFile(lines);
  return { env: { ...env, ACCOUNTS_FILE: file }, ids, dir };
}

async function benchFanOutBridge(): Promise<void> {
  const signals = 20;
  const measure = async (n: number) => {
    const host = await startFakeBridgeHost({ accountDefaults: { balance: 1_000_000 } });
    const accounts = await bridgeAccounts(host, n);
    try {
      return (await fanOutRun(accounts.env, accounts.ids, signals)).lastOrderLatencies();
    } finally {
      await host.close();
      await rm(accounts.dir, { recursive: true, force: true });
    }
  };
  const baseline = await measure(1);
  const ours = await measure(100);
  const p50 = percentile(ours, 50);
  const p99 = percentile(ours, 99);
  rows.push([
    `one signal to 100 bridge accounts (loopback fake bridge host, in this process): arrival to the last order sent, p99 of ${signals} (p50 ${fmt(p50, 1)} ms)`,
    `${fmt(p99, 1)} ms`,
    `${fmt(percentile(baseline, 99), 2)} ms (one bridge account; p50 ${fmt(percentile(baseline, 50), 2)} ms)`,
    fmt(p99 / percentile(baseline, 99)),
    '- (reported)',
    '-',
  ]);
}

async function benchIsolation(): Promise<void> {
  const accounts = 10;
  const signals = Number(process.env.BENCH_ISOLATION_SIGNALS ?? 100);
  const measure = async (hang: boolean) => {
    const host = await startFakeBridgeHost({ accountDefaults: { balance: 1_000_000 } });
    const set = await bridgeAccounts(host, accounts);
    const faulty = set.ids[0];
    if (hang) host.account(faulty).failNext({}, { kind: 'hang' }, Number.MAX_SAFE_INTEGER);
    const others = set.ids.filter((id) => id !== faulty);
    try {
      // Only the others' orders are awaited: the hanging account never gets to send one.
      const probe = await fanOutRun(
        { ...set.env, MT5_TIMEOUT_MS: '2000' },
        hang ? others : set.ids,
        signals,
        {
          warmUp: 5,
        },
      );
      return probe.perAccountLatencies(faulty);
    } finally {
      await host.close();
      await rm(set.dir, { recursive: true, force: true });
    }
  };
  const clean = await measure(false);
  const faulty = await measure(true);
  const p99 = percentile(faulty, 99);
  const base = percentile(clean, 99);
  rows.push([
    `isolation: the other ${accounts - 1} accounts' arrival to order p99 while one bridge hangs (${faulty.length} samples)`,
    `${fmt(p99, 2)} ms`,
    `${fmt(base, 2)} ms (same run, no account hanging)`,
    fmt(p99 / base),
    '<= 1.5x',
    p99 <= 1.5 * base ? 'met' : 'NOT met',
  ]);
}

/** RSS (kB) and cumulative CPU (clock ticks, all threads) of a process, from /proc. */
async function processUsage(pid: number): Promise<{ rssKb: number; cpuTicks: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return { rssKb, cpuTicks: Number(stat[11]) + Number(stat[12]) };
}

const CLOCK_TICKS_PER_SECOND = 100;

/** A compiled service with `n` paper accounts, idle: RSS after warm-up, CPU over a window, stale accounts. */
async function idleProcess(
  entry: string,
  n: number,
): Promise<{ rssKb: number; cpuPercent: number; running: number; stale: number }> {
  const { file, dir } = await accountsFile(paperAccounts(n));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH ?? '',
      TZ: 'UTC',
      PORT: String(port),
      STATE_DIR: join(dir, 'state'),
      ACCOUNTS_FILE: file,
      SIGNAL_SOURCES: 'inbox',
      SIGNALS_HMAC_SECRET: SECRET,
      EQUITY_CHECK_INTERVAL_MS: '1000',
      LOG_LEVEL: 'info',
    },
    stdio: 'ignore',
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the service');
  try {
    const started = performance.now();
    for (;;) {
      if (performance.now() - started > 120_000) throw new Error(`${n} accounts not ready in 120 s`);
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const warmUpMs = Number(process.env.BENCH_IDLE_WARMUP_MS ?? 15_000);
    const windowMs = Number(process.env.BENCH_IDLE_WINDOW_MS ?? 20_000);
    await new Promise((r) => setTimeout(r, warmUpMs));
    const before = await processUsage(pid);
    await new Promise((r) => setTimeout(r, windowMs));
    const after = await processUsage(pid);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const count = (state: string) =>
      Number(
        new RegExp(`^trading_accounts\\{state="${state}"[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN,
      );
    return {
      rssKb: Math.max(before.rssKb, after.rssKb),
      cpuPercent: ((after.cpuTicks - before.cpuTicks) / CLOCK_TICKS_PER_SECOND / (windowMs / 1000)) * 100,
      running: count('running'),
      stale: count('stale'),
    };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) =>
      child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r),
    );
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchIdleAccounts(entry: string): Promise<void> {
  const n = Number(process.env.BENCH_IDLE_ACCOUNTS ?? 2000);
  const one = await idleProcess(entry, 1);
  const many = await idleProcess(entry, n);
  const mib = (kb: number) => kb / 1024;
  const perAccountKb = (many.rssKb - one.rssKb) / (n - 1);
  const perAccountCpu = (many.cpuPercent - one.cpuPercent) / (n - 1);
  rows.push([
    `${n} paper accounts idle: RSS after warm-up (marginal ${fmt(perAccountKb, 1)} KiB per account)`,
    `${fmt(mib(many.rssKb), 0)} MiB`,
    `${fmt(mib(one.rssKb), 0)} MiB (one account, same process)`,
    fmt(many.rssKb / one.rssKb),
    '<= 1024 MiB',
    many.rssKb <= 1024 * 1024 ? 'met' : 'NOT met',
  ]);
  rows.push([
    `${n} paper accounts idle, EQUITY_CHECK_INTERVAL_MS=1000: CPU (marginal ${fmt(perAccountCpu * 1000, 2)}% of a core per 1,000 accounts)`,
    `${fmt(many.cpuPercent, 1)}% of one core`,
    `${fmt(one.cpuPercent, 1)}% (one account)`,
    fmt(many.cpuPercent / Math.max(one.cpuPercent, 0.1)),
    '<= 25%',
    many.cpuPercent <= 25 ? 'met' : 'NOT met',
  ]);
  rows.push([
    `${n} paper accounts idle: accounts fresh (trading_accounts)`,
    `${many.running} running, ${many.stale} stale`,
    `${one.running} running, ${one.stale} stale (one account)`,
    '-',
    'every heartbeat fresh',
    many.running === n && many.stale === 0 ? 'met' : 'NOT met',
  ]);
}

export async function benchAccounts(entry: string): Promise<void> {
  // BENCH_ACCOUNTS_ONLY=idle,paper,bridge,isolation: some of them.
  const only = process.env.BENCH_ACCOUNTS_ONLY?.split(',');
  const part = (name: string) => only === undefined || only.includes(name);
  if (part('idle')) {
    say('benchmark: 2,000 idle paper accounts...');
    await benchIdleAccounts(entry);
  }
  if (part('paper')) {
    say('benchmark: fan-out to 1,000 paper accounts...');
    await benchFanOutPaper();
  }
  if (part('bridge')) {
    say('benchmark: fan-out to 100 bridge accounts...');
    await benchFanOutBridge();
  }
  if (part('isolation')) {
    say('benchmark: isolation from a hanging bridge...');
    await benchIsolation();
  }
}
