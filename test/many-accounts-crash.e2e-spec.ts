import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRequestId, seededRandom } from '@app/core';
import { startFakeBridgeHost, type FakeBridgeHost } from './fakes/fake-bridge-host';
import type { FakeBridgeAccount } from './fakes/fake-bridge-account';
import { writeBridgeAccountsFile } from './support/bridge-accounts-file';
import { ServiceProcess, type LogLine } from './support/service-process';
import { signedHeaders } from './support/signed-request';
import { waitUntil } from './support/wait-until';

/**
 * kill -9 of the service's process group in the middle of a fan-out to 20 bridge accounts, then a
 * restart on the same STATE_DIR, a few rounds (docs/accounts.md: at most once per (account, signal),
 * across restarts and kill -9; docs/service.md: signals accepted by an earlier run and never
 * finished are taken up again at start).
 *
 * The fake bridge host runs here and outlives every service process: it is the broker. Each round
 * arms, on one third of the accounts, an order that executes at the broker but whose answer is
 * held back (the service cannot know it filled), and on another third an order that never reaches
 * the terminal (it hangs); the last third fills at once. A stream of signals goes to the channel
 * all 20 listen on, and the kill falls while that state holds, with more signals in flight. A
 * sender re-sends what went unanswered, as a real one would.
 *
 * Judged at the end from the broker's fills and order requests and from both processes' event
 * lines (and the ledger journal as each killed process left it, for an outcome whose log line
 * died with the process): nothing placed twice for any (account, signal), no order re-sent after
 * a restart when its fill was already at the broker, and every (account, signal) of a signal the
 * service holds ends executed, failed with a reason, or rejected.
 */

const ACCOUNTS = 20;
const ROUNDS = 3;
const SIGNALS_PER_ROUND = 6;
const SIGNALS_DURING_KILL = 4;
const ADMIN_TOKEN = 'many-accounts-crash-admin-token';
const SECRET = 'many-accounts-crash-inbox-secret';
const CHANNEL = 'fleet';
const OUTCOMES = ['trade_executed', 'trade_failed', 'signal_rejected'] as const;
type Outcome = (typeof OUTCOMES)[number];
const KEPT_TYPES = new Set<string>([...OUTCOMES, 'signal_approved', 'startup_failed']);
const FINAL_STATUSES = new Set(['executed', 'failed', 'rejected']);
const STATUS_OF: Record<Outcome, string> = {
  trade_executed: 'executed',
  trade_failed: 'failed',
  signal_rejected: 'rejected',
};

/** Pacing of the scenario only; conditions are waited for with waitUntil. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface SentSignal {
  id: string;
  body: string;
  state: 'unanswered' | 'accepted' | 'duplicate' | 'refused';
  answers: (number | 'none')[];
  /** `accounts` of the 202 answer. */
  accounts?: number;
  /** Index of the service process it was first sent to. */
  firstRun: number;
}

interface RoundFigures {
  /** `round N` (a kill mid-fan-out) or `take-up after round N` (a kill while restored signals are taken up). */
  kill: string;
  /** Signals of the stream that, at the kill, had filled on some accounts and not on others. */
  partialAtKill: number;
  /** POSTs sent at the kill with no answer (the process died under them). */
  unansweredAtKill: number;
  fillsAtKill: number;
  /** Fills at the broker whose (account, signal) the journal did not record as ended at the kill. */
  filledButUnrecorded: number;
}

describe('kill -9 during a fan-out to 20 accounts, then restart', () => {
  beforeAll(() => ServiceProcess.buildOnce(), 180_000);

  let host: FakeBridgeHost;
  let bridges: FakeBridgeAccount[];
  let ids: string[];
  let stateDir: string;
  let env: Record<string, string>;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    host = await startFakeBridgeHost({ accountDefaults: { balance: 10_000, price: 1.1 } });
    ids = Array.from({ length: ACCOUNTS }, (_, i) => `acct-${String(i + 1).padStart(2, '0')}`);
    bridges = ids.map((_, i) => host.addAccount(`t${i + 1}`));
    const accounts = await writeBridgeAccountsFile(
      ids.map((id, i) => ({ id, bridge: bridges[i] })),
      { channels: [CHANNEL] },
    );
    stateDir = await mkdtemp(join(tmpdir(), 'many-accounts-crash-'));
    env = {
      ...accounts.env,
      ADMIN_TOKEN,
      SIGNALS_HMAC_SECRET: SECRET,
      LOOP_ID: 'many-accounts-crash',
      EQUITY_CHECK_INTERVAL_MS: '500',
      HEARTBEAT_INTERVAL_MS: '500',
      // Longer than a round: a held or hanging order is still waited for when the kill falls.
      MT5_TIMEOUT_MS: '8000',
      MAX_ORDERS_PER_SECOND: '1000',
      CLOSE_ON_SHUTDOWN: 'false',
    };
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await host?.close();
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
  });

  it('places nothing twice and loses no accepted (account, signal) over 3 kills mid-fan-out and 2 during the take-up', async () => {
    const began = Date.now();
    const random = seededRandom(20);
    const sent = new Map<string, SentSignal>();
    /** Per process: its lines are read at the end, once every byte of its stdout has arrived. */
    const runs: ServiceProcess[] = [];
    /** The ledger journal as each killed process left it (before the restart compacts it). */
    const ledgerSnapshots: string[] = [];
    const figures: RoundFigures[] = [];
    /** Orders sent again after a restart for a request id whose fill was at the broker before the kill. */
    const resentAfterFill: string[] = [];
    const checksAfterRestart: (() => void)[] = [];
    let next = 0;

    const newSignal = (round: number): SentSignal => {
      next++;
      const id = `mac-r${round}-${next}`;
      const body = JSON.stringify({
        id,
        channel: CHANNEL,
        instrument: ['EURUSD', 'GBPUSD', 'USDJPY'][next % 3],
        side: random() < 0.5 ? 'buy' : 'sell',
        volume: Math.round(1 + random() * 4) / 100,
      });
      const signal: SentSignal = { id, body, state: 'unanswered', answers: [], firstRun: runs.length - 1 };
      sent.set(id, signal);
      return signal;
    };

    const send = async (service: ServiceProcess, signal: SentSignal): Promise<void> => {
      let status: number | 'none' = 'none';
      let answer: Record<string, unknown> | null = null;
      try {
        const response = await fetch(`${service.baseUrl}/api/v1/signals`, {
          method: 'POST',
          headers: signedHeaders(SECRET, signal.body),
          body: signal.body,
          signal: AbortSignal.timeout(10_000),
        });
        status = response.status;
        answer = (await response.json().catch(() => null)) as Record<string, unknown> | null;
      } catch {
        status = 'none'; // killed under it, or refused while down: the sender does not know
      }
      signal.answers.push(status);
      if (status === 202) {
        signal.state = 'accepted';
        signal.accounts = Number(answer?.accounts);
      } else if (status === 200 && signal.state === 'unanswered') signal.state = 'duplicate';
      else if (status !== 'none' && status >= 400 && status < 500) signal.state = 'refused';
    };

    const spawn = async (): Promise<ServiceProcess> => {
      const service = await ServiceProcess.start(env, stateDir, {
        viaNpm: true,
        keepLine: (line) => typeof line.type === 'string' && KEPT_TYPES.has(line.type),
      });
      services.push(service);
      runs.push(service);
      return service;
    };
    const start = async (): Promise<ServiceProcess> => {
      const service = await spawn();
      await service.waitUntilReady(30_000);
      return service;
    };

    const fillsOf = (bridge: FakeBridgeAccount, signalId: string) =>
      bridge.fillLog.filter((f) => f.request_id === openRequestId(signalId)).length;

    /**
     * kill -9 of the process group; then what the broker and the journal hold at that moment, and
     * a check for after the restart: no order again for a fill the broker had at the kill.
     */
    const killAndSnapshot = async (
      service: ServiceProcess,
      kill: string,
      inFlight: Promise<void>[],
      watched: SentSignal[],
    ) => {
      service.killGroup('SIGKILL');
      await service.exited();
      await Promise.all(inFlight);
      for (const bridge of bridges) bridge.clearFaults();
      const filledAtKill = bridges.map((b) => new Set(b.fillLog.map((f) => f.request_id)));
      const requestMarks = bridges.map((b) => b.requests.length);
      figures.push({
        kill,
        partialAtKill: watched.filter((s) => {
          const n = bridges.filter((b) => fillsOf(b, s.id) > 0).length;
          return n > 0 && n < ACCOUNTS;
        }).length,
        unansweredAtKill: watched.filter((s) => s.state === 'unanswered').length,
        fillsAtKill: bridges.reduce((sum, b) => sum + b.fills, 0),
        filledButUnrecorded: 0,
      });
      ledgerSnapshots.push(await readFile(join(stateDir, 'signals.jsonl'), 'utf8').catch(() => ''));
      // Fills the broker made that the dead process had not recorded: the restart must find them by comment.
      const recorded = parseLedgerFinals(ledgerSnapshots);
      (figures.at(-1) as RoundFigures).filledButUnrecorded = bridges.reduce(
        (sum, b, i) =>
          sum + b.fillLog.filter((f) => !recorded.has(`${ids[i]} ${signalByRequestId(f.request_id)}`)).length,
        0,
      );
      checksAfterRestart.push(() => {
        bridges.forEach((bridge, i) => {
          for (const request of bridge.requests.slice(requestMarks[i])) {
            if (request.method !== 'POST' || request.path !== '/v1/orders') continue;
            if (request.idempotencyKey !== undefined && filledAtKill[i]?.has(request.idempotencyKey))
              resentAfterFill.push(`${ids[i]} ${request.idempotencyKey} (after the kill of ${kill})`);
          }
        });
      });
    };

    const resendUnanswered = async (service: ServiceProcess) => {
      for (let pass = 0; pass < 5; pass++) {
        const left = [...sent.values()].filter((s) => s.state === 'unanswered');
        if (left.length === 0) return;
        await Promise.all(left.map((s) => send(service, s)));
      }
    };

    const held = () => [...sent.values()].filter((s) => s.state === 'accepted' || s.state === 'duplicate');
    const signalByRequestId = (requestId: string) =>
      [...sent.keys()].find((id) => openRequestId(id) === requestId) ?? requestId;

    for (let round = 0; round < ROUNDS; round++) {
      const service = await start();
      await resendUnanswered(service);

      // Arm this round's faults: a third of the accounts fill at the broker with the answer held
      // back, a third never get the order to the terminal, a third fill at once.
      const group = (i: number) => (i + round) % 3;
      const marks = bridges.map((b) => b.requests.length);
      bridges.forEach((bridge, i) => {
        if (group(i) === 0)
          bridge.failNext({ method: 'POST', path: '/v1/orders' }, { kind: 'delay', ms: 60_000 }, 1);
        if (group(i) === 1) bridge.failNext({ method: 'POST', path: '/v1/orders' }, { kind: 'hang' }, 1);
      });
      const fillsBefore = bridges.map((b) => b.fills);
      const inFlight: Promise<void>[] = [];
      const stream: SentSignal[] = [];
      for (let k = 0; k < SIGNALS_PER_ROUND; k++) {
        const signal = newSignal(round);
        stream.push(signal);
        inFlight.push(send(service, signal));
        await sleep(40);
      }
      const armedTaken = (i: number, kind: 'delay' | 'hang') =>
        bridges[i].requests.slice(marks[i]).some((r) => r.fault === kind);
      await waitUntil(
        () =>
          bridges.every((b, i) =>
            group(i) === 0
              ? armedTaken(i, 'delay')
              : group(i) === 1
                ? armedTaken(i, 'hang')
                : b.fills > (fillsBefore[i] ?? 0),
          ),
        {
          what: `round ${round}: held and hanging orders in place, the other accounts filling`,
          timeoutMs: 15_000,
          detail: () =>
            bridges
              .map((b, i) => `${ids[i]}(g${group(i)}): ${b.requests.length - (marks[i] ?? 0)} requests`)
              .join(', '),
        },
      );
      // More signals, the kill among them.
      for (let k = 0; k < SIGNALS_DURING_KILL; k++) {
        const signal = newSignal(round);
        stream.push(signal);
        inFlight.push(send(service, signal));
        await sleep(Math.floor(random() * 15));
      }
      await killAndSnapshot(service, `round ${round}`, inFlight, stream);

      // The restart after the first kills is killed too, while it takes up the signals left
      // unfinished: as soon as the first of them fills at the broker.
      if (round < ROUNDS - 1) {
        const unfinished = held().filter((s) => bridges.some((b) => fillsOf(b, s.id) === 0));
        const fillsAtSpawn = bridges.reduce((sum, b) => sum + b.fills, 0);
        const takingUp = await spawn();
        await waitUntil(() => bridges.reduce((sum, b) => sum + b.fills, 0) > fillsAtSpawn, {
          what: `the restart after round ${round} to take up its unfinished signals at the broker`,
          timeoutMs: 20_000,
          detail: () => `last lines:\n${takingUp.rawStdout.slice(-10).join('\n')}`,
        });
        await killAndSnapshot(takingUp, `take-up after round ${round}`, [], unfinished);
      }
    }

    // The final run: no fault, no kill; every held signal ends on every account.
    const final = await start();
    await resendUnanswered(final);
    const ledgerFinals = parseLedgerFinals(ledgerSnapshots);
    const outcomesOf = () => {
      const byPair = new Map<string, { type: Outcome; run: number; line: LogLine }[]>();
      runs.forEach((service, run) => {
        for (const line of service.lines) {
          if (!(OUTCOMES as readonly string[]).includes(String(line.type))) continue;
          const key = `${String(line.account_id)} ${String(line.signal_id)}`;
          const list = byPair.get(key) ?? [];
          list.push({ type: line.type as Outcome, run, line });
          byPair.set(key, list);
        }
      });
      return byPair;
    };
    const unended = () => {
      const outcomes = outcomesOf();
      const missing: string[] = [];
      for (const signal of held())
        for (const id of ids) {
          const key = `${id} ${signal.id}`;
          if (!outcomes.has(key) && !ledgerFinals.has(key)) missing.push(key);
        }
      return missing;
    };
    await waitUntil(() => unended().length === 0, {
      what: 'every (account, signal) of a held signal to end',
      timeoutMs: 30_000,
      intervalMs: 100,
      detail: () => `${unended().length} not ended, e.g. ${unended().slice(0, 5).join('; ')}`,
    }).catch(() => undefined); // judged below, with everything else
    for (const check of checksAfterRestart) check();

    // What the restarted service itself says, per account (its recent events).
    const apiOutcomes = new Map<string, string>();
    for (const id of ids) {
      const response = await fetch(`${final.baseUrl}/api/v1/accounts/${id}/events?limit=100`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(response.status).toBe(200);
      for (const event of (await response.json()) as { type: string; signal_id?: string }[])
        if ((OUTCOMES as readonly string[]).includes(event.type))
          apiOutcomes.set(`${id} ${String(event.signal_id)}`, event.type);
    }

    // Judge.
    const problems: string[] = [];
    const outcomes = outcomesOf();
    const signalOfRequest = new Map([...sent.keys()].map((id) => [openRequestId(id), id]));
    const heldIds = new Set(held().map((s) => s.id));
    const counts = { executed: 0, failed: 0, rejected: 0, endedOnlyInLedger: 0, endedAfterRestart: 0 };
    const failureReasons: Record<string, number> = {};

    bridges.forEach((bridge, i) => {
      const id = ids[i];
      const fillsByRequest = new Map<string, number>();
      for (const fill of bridge.fillLog) {
        fillsByRequest.set(fill.request_id, (fillsByRequest.get(fill.request_id) ?? 0) + 1);
        if (fill.comment !== fill.request_id)
          problems.push(`${id}: fill ${fill.request_id} carries comment ${fill.comment}`);
        const signalId = signalOfRequest.get(fill.request_id);
        if (signalId === undefined) problems.push(`${id}: fill for unknown request id ${fill.request_id}`);
        else if (!heldIds.has(signalId))
          problems.push(`${id}: fill for ${signalId}, which the service never held`);
      }
      for (const [requestId, n] of fillsByRequest)
        if (n > 1) problems.push(`${id}: ${n} fills for request id ${requestId}`);
      const comments = bridge.positions().map((p) => p.comment);
      if (new Set(comments).size !== comments.length)
        problems.push(`${id}: two open positions share a comment`);
      for (const request of bridge.requestsTo('POST', '/v1/orders')) {
        const requestId = request.idempotencyKey ?? '';
        if (!signalOfRequest.has(requestId)) problems.push(`${id}: order with request id ${requestId}`);
      }
    });

    for (const signal of sent.values()) {
      if (signal.state === 'unanswered' || signal.state === 'refused')
        problems.push(`signal ${signal.id}: ${signal.state} (answers ${signal.answers.join(',')})`);
      if (signal.state === 'accepted' && signal.accounts !== ACCOUNTS)
        problems.push(`signal ${signal.id}: accepted for ${signal.accounts} accounts, not ${ACCOUNTS}`);
      if (!heldIds.has(signal.id)) continue;
      for (const [i, id] of ids.entries()) {
        const key = `${id} ${signal.id}`;
        const ended = outcomes.get(key) ?? [];
        const fills = fillsOf(bridges[i], signal.id);
        if (ended.length > 1)
          problems.push(
            `${key}: ended ${ended.length} times (${ended.map((e) => `${e.type}@run${e.run}`).join(', ')})`,
          );
        const inLedger = ledgerFinals.get(key);
        const type = ended[0]?.type;
        if (type === undefined && inLedger === undefined) {
          problems.push(`${key}: accepted (answers ${signal.answers.join(',')}) but never ended`);
          continue;
        }
        if (type === undefined) counts.endedOnlyInLedger++;
        const status = type === undefined ? inLedger : STATUS_OF[type];
        if (status === 'executed') counts.executed++;
        if (status === 'failed') counts.failed++;
        if (status === 'rejected') counts.rejected++;
        if (status === 'executed' && fills !== 1)
          problems.push(`${key}: recorded executed with ${fills} fills at the broker`);
        if (status !== 'executed' && fills > 0)
          problems.push(`${key}: recorded ${status} but its order filled at the broker`);
        const first = ended[0];
        if (first !== undefined) {
          if (first.type === 'trade_executed' && first.line.request_id !== openRequestId(signal.id))
            problems.push(`${key}: executed under request id ${String(first.line.request_id)}`);
          if (first.type === 'trade_failed') {
            const reason = typeof first.line.reason === 'string' ? first.line.reason : '';
            if (reason === '') problems.push(`${key}: trade_failed without a reason`);
            const shape = reason.replace(/[a-z]-[0-9a-f]{22}/g, '<id>');
            failureReasons[shape] = (failureReasons[shape] ?? 0) + 1;
          }
          if (first.run > signal.firstRun) counts.endedAfterRestart++;
          if (first.run === runs.length - 1 && apiOutcomes.get(key) !== first.type)
            problems.push(
              `${key}: the final service's events API says ${apiOutcomes.get(key) ?? 'nothing'}, its log ${first.type}`,
            );
        }
      }
    }
    problems.push(
      ...resentAfterFill.map((r) => `order re-sent after a restart though filled before the kill: ${r}`),
    );
    for (const service of runs)
      for (const line of service.lines)
        if (line.type === 'startup_failed') problems.push(`start-up failed: ${String(line.msg)}`);

    const restartApprovals = runs
      .slice(1)
      .reduce(
        (n, s) =>
          n + s.lines.filter((l) => l.type === 'signal_approved' && l.approved_by === 'restart').length,
        0,
      );
    const report = {
      elapsed_ms: Date.now() - began,
      signals: sent.size,
      held: heldIds.size,
      accepted_202: [...sent.values()].filter((s) => s.state === 'accepted').length,
      duplicate_on_resend: [...sent.values()].filter((s) => s.state === 'duplicate').length,
      pairs: heldIds.size * ACCOUNTS,
      ...counts,
      taken_up_after_restart: restartApprovals,
      broker_fills: bridges.reduce((n, b) => n + b.fills, 0),
      order_posts: bridges.reduce((n, b) => n + b.requestsTo('POST', '/v1/orders').length, 0),
      rounds: figures,
      failure_reasons: failureReasons,
    };
    console.log(`many-accounts crash: ${JSON.stringify(report, null, 1)}`);

    expect(problems).toEqual([]);
    // The run exercised what it claims: kills mid-fan-out, work taken up after them.
    expect(figures.filter((f) => f.kill.startsWith('round')).every((f) => f.partialAtKill > 0)).toBe(true);
    expect(counts.endedAfterRestart).toBeGreaterThan(0);
    expect(figures.some((f) => f.filledButUnrecorded > 0)).toBe(true);
    expect(restartApprovals).toBeGreaterThan(0);
    expect(counts.executed).toBeGreaterThan(0);
  }, 120_000);
});

/**
 * Per (account, signal), a final status the journal records, from the journal as each killed
 * process left it: a step line names its account; a claim's `rejected` accounts end there.
 * (At start the journal is compacted, and a finished id then keeps one line without its account.)
 */
function parseLedgerFinals(snapshots: readonly string[]): Map<string, string> {
  const finals = new Map<string, string>();
  for (const text of snapshots)
    for (const raw of text.split('\n')) {
      if (raw.trim() === '') continue;
      let line: { id?: string; status?: string; account?: string; rejected?: string[] };
      try {
        line = JSON.parse(raw) as typeof line;
      } catch {
        continue; // a torn last line after kill -9: the service skips it too
      }
      if (typeof line.id !== 'string' || typeof line.status !== 'string') continue;
      if (line.account !== undefined && FINAL_STATUSES.has(line.status))
        finals.set(`${line.account} ${line.id}`, line.status);
      for (const account of line.rejected ?? []) finals.set(`${account} ${line.id}`, 'rejected');
    }
  return finals;
}
