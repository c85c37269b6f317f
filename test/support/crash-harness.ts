import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_COMMENT_LENGTH, openRequestId, seededRandom } from '@app/core';
import { startFakeMt5Bridge, type ChaosOptions, type FakeMt5Bridge } from '../fakes/fake-mt5-bridge';
import { signedHeaders } from './signed-request';
import { ServiceProcess, type LogLine } from './service-process';
import { waitUntil } from './wait-until';

/**
 * Crash safety harness: runs the compiled service as a real process (against a fake MT5 bridge
 * started here, or the embedded paper account), sends signals with known ids, `kill -9`s it at
 * random moments, restarts it on the same STATE_DIR and re-sends every signal whose answer it did
 * not get, as a real sender would. Some rounds latch a halt (a drawdown breach at the bridge, or
 * POST /api/v1/halt) just before the kill. At the end one clean run lets every signal finish, and
 * `checkCrashReport` judges the evidence: the logs of every run, the signal ledger, and (bridge
 * mode) every fill the broker made.
 */

export interface CrashHarnessOptions {
  gateway: 'http' | 'paper';
  rounds: number;
  seed: number;
  /** New signals offered per round (re-sends come on top). */
  signalsPerRound?: number;
  /** Pause between two sends. */
  sendIntervalMs?: number;
  /** The kill falls at a random moment in [0, killWindowMs] after the service is ready. */
  killWindowMs?: number;
  /** Share of rounds killed while the process is still starting (before /health/ready). */
  startupKillProbability?: number;
  /** Share of rounds that latch a halt shortly before the kill. */
  haltProbability?: number;
  /** Random bridge faults during the rounds (bridge mode only). */
  chaos?: ChaosOptions;
  env?: Record<string, string>;
  log?: (line: string) => void;
  /** How long the final clean run may take to finish every signal. */
  settleTimeoutMs?: number;
}

type SendState = 'unanswered' | 'accepted' | 'duplicate' | 'halted' | 'refused';

interface SentSignal {
  id: string;
  body: string;
  state: SendState;
  /** Answers seen, in order (status codes, or 'no answer'). */
  answers: (number | 'none')[];
}

export interface CrashReport {
  rounds: number;
  killsDuringStartup: number;
  killsAfterReady: number;
  haltRounds: number;
  haltsConfirmedBeforeKill: number;
  latchChecks: number;
  signals: number;
  /** Signals the service holds (answered 202, or 200 duplicate for a send whose 202 was lost). */
  accepted: number;
  refusedHalted: number;
  resends: number;
  executed: number;
  failed: number;
  rejected: number;
  /** Ended in the ledger, but the event's log line died with the process. */
  endedOnlyInLedger: number;
  /** Bridge mode: fills at the broker, distinct order request ids seen. */
  brokerFills: number;
  distinctOrderKeys: number;
  chaos: Record<string, number>;
  /** Why signals failed (trade_failed reasons), with counts. */
  failureReasons: Record<string, number>;
  /** Every broken promise, human readable; empty when the run passed. */
  problems: string[];
}

const ADMIN_TOKEN = 'crash-harness-admin-token';
const SECRET = 'crash-harness-inbox-secret';
const KEPT_TYPES = new Set([
  'trade_executed',
  'trade_failed',
  'signal_rejected',
  'signal_received',
  'halted',
  'resumed',
  'startup_failed',
]);

/** The scenario's own timing only (when to kill, how fast to send, how long a halt round may take); conditions are waited for with waitUntil. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runCrashHarness(options: CrashHarnessOptions): Promise<CrashReport> {
  const o = {
    signalsPerRound: 12,
    sendIntervalMs: 15,
    killWindowMs: 600,
    startupKillProbability: 0.15,
    haltProbability: 0.3,
    settleTimeoutMs: 40_000,
    log: () => undefined,
    ...options,
  };
  const random = seededRandom(o.seed);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const bridge: FakeMt5Bridge | undefined =
    o.gateway === 'http' ? await startFakeMt5Bridge({ balance: 10_000 }) : undefined;
  const stateDir = await mkdtemp(join(tmpdir(), 'crash-harness-'));
  const env: Record<string, string> = {
    ADMIN_TOKEN,
    SIGNALS_HMAC_SECRET: SECRET,
    EQUITY_CHECK_INTERVAL_MS: '100',
    HEARTBEAT_INTERVAL_MS: '500',
    MAX_ORDERS_PER_SECOND: '1000',
    LOOP_ID: 'crash-harness',
    ...(bridge === undefined
      ? { MT5_GATEWAY: 'paper' }
      : {
          ...bridge.serviceEnv(),
          MT5_TIMEOUT_MS: '300',
        }),
    ...o.env,
  };
  const report: CrashReport = {
    rounds: o.rounds,
    killsDuringStartup: 0,
    killsAfterReady: 0,
    haltRounds: 0,
    haltsConfirmedBeforeKill: 0,
    latchChecks: 0,
    signals: 0,
    accepted: 0,
    refusedHalted: 0,
    resends: 0,
    executed: 0,
    failed: 0,
    rejected: 0,
    endedOnlyInLedger: 0,
    brokerFills: 0,
    distinctOrderKeys: 0,
    chaos: {},
    failureReasons: {},
    problems: [],
  };
  const sent = new Map<string, SentSignal>();
  const lines: (LogLine & { run: number })[] = [];
  let expectHalted = false;
  let nextSignal = 0;
  let current: ServiceProcess | undefined;

  const newSignal = (): SentSignal => {
    nextSignal++;
    const side = random() < 0.5 ? 'buy' : 'sell';
    const body = JSON.stringify({
      id: `crash-${o.seed}-${nextSignal}`,
      instrument: ['EURUSD', 'GBPUSD', 'USDJPY'][nextSignal % 3],
      side,
      volume: 0.01 * between(1, 10),
    });
    const signal: SentSignal = {
      id: `crash-${o.seed}-${nextSignal}`,
      body,
      state: 'unanswered',
      answers: [],
    };
    sent.set(signal.id, signal);
    report.signals++;
    return signal;
  };

  const send = async (service: ServiceProcess, signal: SentSignal): Promise<void> => {
    let status: number | 'none' = 'none';
    try {
      const response = await fetch(`${service.baseUrl}/api/v1/signals`, {
        method: 'POST',
        headers: signedHeaders(SECRET, signal.body),
        body: signal.body,
        signal: AbortSignal.timeout(5_000),
      });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      // Killed mid-request, refused, reset: the sender does not know, so it will send again.
    }
    signal.answers.push(status);
    if (status === 202) signal.state = 'accepted';
    else if (status === 200) signal.state = signal.state === 'unanswered' ? 'duplicate' : signal.state;
    else if (status === 423) signal.state = signal.state === 'unanswered' ? 'halted' : signal.state;
    else if (status !== 'none' && status >= 400 && status < 500) {
      signal.state = 'refused';
      report.problems.push(`signal ${signal.id} refused with ${status}: a valid signal must be accepted`);
    }
    // 5xx or no answer: still unanswered, re-sent later.
  };

  const admin = async (service: ServiceProcess, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${service.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return {
      status: response.status,
      body: (await response.json().catch(() => null)) as Record<string, any>,
    };
  };

  /** Restarted after a kill: the latch must hold; then a person resumes so the next round trades. */
  const checkLatchAndResume = async (service: ServiceProcess, run: number): Promise<void> => {
    const status = await admin(service, 'GET', '/api/v1/status');
    if (expectHalted) {
      report.latchChecks++;
      if (status.body?.state !== 'halted')
        report.problems.push(
          `run ${run}: halt confirmed before the kill, but the restart is ${status.body?.state}`,
        );
    }
    if (status.body?.state !== 'halted') return;
    // Refused while equity is unreadable for a moment (chaos): asked again until it is taken.
    const resumed = await waitUntil(
      async () =>
        (
          await admin(service, 'POST', '/api/v1/resume', {
            reviewed_by: 'harness',
            note: `run ${run}`,
          })
        ).status === 200,
      { what: `run ${run}: a resume`, timeoutMs: 5_000, intervalMs: 100 },
    ).then(
      () => true,
      () => false,
    );
    if (resumed) {
      expectHalted = false;
      return;
    }
    report.problems.push(`run ${run}: could not resume`);
  };

  const start = async (): Promise<ServiceProcess> => {
    const service = await ServiceProcess.start(env, stateDir, {
      keepLine: (line) => typeof line.type === 'string' && KEPT_TYPES.has(line.type),
    });
    current = service;
    return service;
  };

  const collect = (service: ServiceProcess, run: number) => {
    for (const line of service.lines) lines.push({ ...line, run });
  };

  try {
    for (let run = 0; run < o.rounds; run++) {
      bridge?.setChaos(o.chaos);
      const service = await start();
      if (random() < o.startupKillProbability) {
        await sleep(between(30, 700));
        service.kill('SIGKILL');
        await service.exited();
        collect(service, run);
        report.killsDuringStartup++;
        o.log(`run ${run}: killed during start-up`);
        continue;
      }
      // Chaos may fail readiness for a moment (the broker health check); the kill test needs it up.
      bridge?.setChaos(undefined);
      await service.waitUntilReady(30_000);
      await checkLatchAndResume(service, run);
      bridge?.setChaos(o.chaos);

      const killAt = between(0, o.killWindowMs);
      const haltRound = random() < o.haltProbability;
      const haltAt = haltRound ? between(0, Math.floor(killAt * 0.7)) : -1;
      const byEquity = bridge !== undefined && random() < 0.5;
      if (haltRound) report.haltRounds++;
      const readyAt = Date.now();
      const queue = [
        ...[...sent.values()].filter((s) => s.state === 'unanswered'),
        ...Array.from({ length: o.signalsPerRound }, newSignal),
      ];
      report.resends += queue.length - o.signalsPerRound;
      const inFlight: Promise<void>[] = [];
      let halting: Promise<void> | undefined;
      while (Date.now() - readyAt < killAt) {
        if (haltRound && halting === undefined && Date.now() - readyAt >= haltAt) {
          halting = (async () => {
            if (byEquity && bridge !== undefined) {
              bridge.setEquity(5_000);
              await service
                .waitForLine((l) => l.type === 'halted', 5_000)
                .then(() => (expectHalted = true))
                .catch(() => undefined);
            } else {
              const answer = await admin(service, 'POST', '/api/v1/halt', {
                reason: `harness run ${run}`,
              }).catch(() => undefined);
              if (answer?.status === 200) expectHalted = true;
            }
          })();
        }
        const next = queue.shift();
        if (next !== undefined) inFlight.push(send(service, next));
        await sleep(next === undefined ? 5 : o.sendIntervalMs);
      }
      // A halt round kills once its halt is confirmed (or 2 s later): on a loaded machine the kill
      // could otherwise always win the race, and the latch would never be tested after a crash.
      if (halting !== undefined) await Promise.race([halting, sleep(2_000)]);
      service.kill('SIGKILL');
      await service.exited();
      // The equity comes back before the restart: a halt seen afterwards can only be the latch.
      bridge?.setEquity(undefined);
      await Promise.all(inFlight);
      await halting;
      if (expectHalted) report.haltsConfirmedBeforeKill++;
      report.killsAfterReady++;
      collect(service, run);
      o.log(
        `run ${run}: killed ${killAt} ms after ready${haltRound ? `, halt (${byEquity ? 'equity' : 'api'}) at ${haltAt} ms` : ''}`,
      );
    }

    // The clean run: no chaos, no kill; every signal ends before a graceful stop.
    bridge?.setChaos(undefined);
    const final = await start();
    await final.waitUntilReady(30_000);
    await checkLatchAndResume(final, o.rounds);
    for (let pass = 0; pass < 20; pass++) {
      const left = [...sent.values()].filter((s) => s.state === 'unanswered');
      if (left.length === 0) break;
      report.resends += left.length;
      for (const signal of left) await send(final, signal);
    }
    const held = () => [...sent.values()].filter((s) => s.state === 'accepted' || s.state === 'duplicate');
    const ends = () => {
      const ended = new Set<string>();
      for (const l of [...lines, ...final.lines])
        if (['trade_executed', 'trade_failed', 'signal_rejected'].includes(String(l.type)))
          ended.add(String(l.signal_id));
      return ended;
    };
    // Not met in time is a finding (judged below), not a failed wait.
    await waitUntil(
      () => {
        const ended = ends();
        return held().every((s) => ended.has(s.id));
      },
      { what: 'every held signal to end', timeoutMs: o.settleTimeoutMs, intervalMs: 100 },
    ).catch(() => undefined);
    final.kill('SIGTERM');
    await final.exited();
    collect(final, o.rounds);
    current = undefined;

    await judge(report, sent, lines, stateDir, bridge);
    return report;
  } finally {
    await current?.stop();
    await bridge?.close();
  }
}

interface LedgerLine {
  id: string;
  status: string;
  reason?: string;
}

async function judge(
  report: CrashReport,
  sent: Map<string, SentSignal>,
  lines: (LogLine & { run: number })[],
  stateDir: string,
  bridge: FakeMt5Bridge | undefined,
): Promise<void> {
  const problems = report.problems;
  const ledgerText = await readFile(join(stateDir, 'signals.jsonl'), 'utf8').catch(() => '');
  const ledgerFinal = new Map<string, LedgerLine>();
  for (const text of ledgerText.split('\n')) {
    if (text.trim() === '') continue;
    try {
      const record = JSON.parse(text) as LedgerLine;
      ledgerFinal.set(record.id, record);
    } catch {
      // A torn last line after kill -9: the service skips it too.
    }
  }
  const byType = (type: string) => lines.filter((l) => l.type === type);
  const count = (type: string) => {
    const counts = new Map<string, number[]>();
    for (const l of byType(type)) {
      const id = String(l.signal_id);
      counts.set(id, [...(counts.get(id) ?? []), l.run]);
    }
    return counts;
  };
  const executed = count('trade_executed');
  const failed = count('trade_failed');
  const rejected = count('signal_rejected');

  // 1. Never executed twice: one trade_executed per signal across all runs, one fill per request id.
  for (const [id, runs] of executed)
    if (runs.length > 1)
      problems.push(`signal ${id}: trade_executed ${runs.length} times (runs ${runs.join(', ')})`);
  for (const [id, runs] of failed)
    if (runs.length > 1)
      problems.push(`signal ${id}: trade_failed ${runs.length} times (runs ${runs.join(', ')})`);
  for (const id of executed.keys())
    if (failed.has(id)) problems.push(`signal ${id}: both trade_executed and trade_failed`);
  const fillsBySignal = new Map<string, number>();
  if (bridge !== undefined) {
    const signalByComment = new Map(
      [...sent.keys()].map((id) => [openRequestId(id).slice(0, MAX_COMMENT_LENGTH), id]),
    );
    for (const fill of bridge.fillLog) {
      const id = signalByComment.get(fill.comment);
      if (id === undefined) continue;
      fillsBySignal.set(id, (fillsBySignal.get(id) ?? 0) + 1);
    }
    for (const [id, fills] of fillsBySignal)
      if (fills > 1) problems.push(`signal ${id}: ${fills} fills at the broker`);
    report.brokerFills = bridge.fills;
    report.distinctOrderKeys = bridge.distinctOrderKeys.length;
    if (bridge.fills > bridge.distinctOrderKeys.length)
      problems.push(
        `${bridge.fills} fills for ${bridge.distinctOrderKeys.length} distinct order request ids`,
      );
    report.chaos = { ...bridge.chaosCounts };
  }

  // 2. Nothing silently lost: every signal the service holds ends, and says how.
  for (const signal of sent.values()) {
    const filled = (fillsBySignal.get(signal.id) ?? 0) > 0;
    const ledger = ledgerFinal.get(signal.id);
    if (signal.state === 'accepted' || signal.state === 'duplicate') {
      report.accepted++;
      const inLog = executed.has(signal.id) || failed.has(signal.id) || rejected.has(signal.id);
      const inLedger = ledger !== undefined && ['executed', 'failed', 'rejected'].includes(ledger.status);
      if (!inLog && inLedger) report.endedOnlyInLedger++;
      if (!inLog && !inLedger && !filled)
        problems.push(
          `signal ${signal.id} (answers ${signal.answers.join(',')}): accepted but never ended (ledger: ${ledger?.status ?? 'absent'})`,
        );
      if (ledger === undefined)
        problems.push(`signal ${signal.id}: answered ${signal.answers.join(',')} but not in the ledger`);
      else if (!['executed', 'failed', 'rejected'].includes(ledger.status))
        problems.push(`signal ${signal.id}: ledger ends at ${ledger.status} after the clean run`);
      // A failure the broker contradicts is a hidden position.
      if (bridge !== undefined && filled && (ledger?.status === 'failed' || failed.has(signal.id)))
        problems.push(`signal ${signal.id}: recorded failed but its order filled at the broker`);
      if (bridge !== undefined && filled && ledger?.status !== 'executed')
        problems.push(
          `signal ${signal.id}: filled at the broker but the ledger ends at ${ledger?.status ?? 'absent'}`,
        );
      if (bridge !== undefined && !filled && (executed.has(signal.id) || ledger?.status === 'executed'))
        problems.push(`signal ${signal.id}: recorded executed but no fill at the broker`);
    }
    if (signal.state === 'halted') {
      report.refusedHalted++;
      if (filled) problems.push(`signal ${signal.id}: refused (423) but reached the broker`);
    }
    if (signal.state === 'unanswered')
      problems.push(`signal ${signal.id}: never answered, even by the clean run`);
  }
  for (const l of byType('trade_failed')) {
    const reason = String(l.reason).replace(/crash-[\w-]+|[a-z]-[0-9a-f]{22}/g, '<id>');
    report.failureReasons[reason] = (report.failureReasons[reason] ?? 0) + 1;
  }
  report.executed = executed.size;
  report.failed = failed.size;
  report.rejected = rejected.size;
  const startupFailures = byType('startup_failed');
  if (startupFailures.length > 0)
    problems.push(`start-up failed ${startupFailures.length} time(s): ${String(startupFailures[0]?.msg)}`);
}
