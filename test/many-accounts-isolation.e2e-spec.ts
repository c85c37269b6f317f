import { performance } from 'node:perf_hooks';
import { AlertDispatcher } from '@app/alerts';
import { openRequestId, type Alert } from '@app/core';
import { startFakeBridgeHost, type FakeBridgeHost } from './fakes/fake-bridge-host';
import type { FakeBridgeAccount } from './fakes/fake-bridge-account';
import { startFakeTelegram, type FakeTelegram } from './fakes/fake-telegram';
import { writeBridgeAccountsFile } from './support/bridge-accounts-file';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

/**
 * One account whose bridge prefix hangs every call, among six on one fake host (docs/accounts.md:
 * an account's broker is its own; a stuck one is alerted stale by name and shown `stale`, the
 * others trade on). The hanging account's calls never answer until the fault clears; its client
 * gives up on each after MT5_TIMEOUT_MS.
 *
 * Also measured, not asserted beyond generous sanity: the other accounts' signal-to-order latency
 * (POST to the inbox until the order reaches their terminal, both read on this process's clock)
 * before and during the hang.
 */

const SECRET = 'inbox-secret-for-many-accounts-isolation';
const CHANNEL = 'iso';
const ACCOUNTS = ['iso-1', 'iso-2', 'iso-3', 'iso-4', 'iso-5', 'iso-6'];
const STUCK = 'iso-3';
const STALE_AFTER_MS = 1500;
const SIGNALS_PER_PHASE = 12;
const OUTCOMES = ['trade_executed', 'trade_failed', 'signal_rejected'] as const;

interface Latency {
  median: number;
  p95: number;
  max: number;
  n: number;
}

const summary = (values: number[]): Latency => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { median: round(at(0.5)), p95: round(at(0.95)), max: round(sorted.at(-1) ?? NaN), n: sorted.length };
};

describe('many accounts: one bridge prefix hangs every call', () => {
  let host: FakeBridgeHost;
  let bridges: Map<string, FakeBridgeAccount>;
  let telegram: FakeTelegram;
  let t: TestApp;
  /** Every alert the service raised, as handed to the dispatcher (before any channel's queue or de-duplication). */
  let alerts: (Alert & { at: number })[];
  const closeMs: number[] = [];
  afterAll(() => console.log(`many-accounts isolation: app close took ${JSON.stringify(closeMs)} ms`));

  beforeEach(async () => {
    host = await startFakeBridgeHost({ accountDefaults: { balance: 10_000, price: 1.1 } });
    bridges = new Map(ACCOUNTS.map((id, i) => [id, host.addAccount(`p${i + 1}`)]));
    telegram = await startFakeTelegram();
    const accounts = await writeBridgeAccountsFile(
      ACCOUNTS.map((id) => ({ id, bridge: bridges.get(id) as FakeBridgeAccount })),
      { channels: [CHANNEL] },
    );
    t = await startTestApp({
      ...accounts.env,
      ...telegram.env,
      SIGNALS_HMAC_SECRET: SECRET,
      HEARTBEAT_INTERVAL_MS: '300',
      HEARTBEAT_STALE_AFTER_MS: String(STALE_AFTER_MS),
      EQUITY_CHECK_INTERVAL_MS: '100',
      MT5_TIMEOUT_MS: '1000',
      MAX_ORDERS_PER_SECOND: '1000',
    });
    alerts = [];
    const dispatcher = t.app.get(AlertDispatcher);
    const send = dispatcher.send.bind(dispatcher);
    dispatcher.send = (alert: Alert) => {
      alerts.push({ ...alert, at: Date.now() });
      send(alert);
    };
  });

  afterEach(async () => {
    // The terminal answers again first, and its hanging calls are dropped, so that nothing of the
    // service waits on one to stop.
    for (const b of bridges?.values() ?? []) {
      b.clearFaults();
      b.release();
    }
    try {
      const closing = Date.now();
      await t?.close();
      closeMs.push(Date.now() - closing);
    } finally {
      await host?.close();
      await telegram?.close();
    }
  });

  const bridge = (id: string) => bridges.get(id) as FakeBridgeAccount;
  const heartbeatAlerts = (id: string) =>
    alerts.filter((a) => a.accountId === id && /^Heartbeat (stale|recovered): account /.test(a.text));
  const others = ACCOUNTS.filter((id) => id !== STUCK);
  const stateOf = async (id: string) =>
    (await t.admin('GET', '/api/v1/accounts')).body.accounts.find((a: { id: string }) => a.id === id)
      ?.state as string | undefined;

  /**
   * Signals to the channel one after another; for each, the time from the POST until the order of
   * each of `accounts` reaches its terminal. Also the inbox's own answer time.
   */
  const sendAndMeasure = async (accounts: readonly string[]) => {
    const orderLatency: number[] = [];
    const answerLatency: number[] = [];
    const ids: string[] = [];
    for (let k = 0; k < SIGNALS_PER_PHASE; k++) {
      const body = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
      const id = body.id as string;
      ids.push(id);
      const sentAt = performance.now();
      const answer = await postSignal(t.baseUrl, SECRET, body);
      answerLatency.push(performance.now() - sentAt);
      expect(answer).toEqual({ status: 202, body: { id, status: 'accepted', accounts: ACCOUNTS.length } });
      const requestId = openRequestId(id);
      const arrivals = await waitUntil(
        () => {
          const seen = accounts.map(
            (account) =>
              bridge(account)
                .requestsTo('POST', '/v1/orders')
                .find((r) => r.idempotencyKey === requestId)?.receivedAt,
          );
          return seen.every((at) => at !== undefined) ? seen : undefined;
        },
        { what: `signal ${id}'s order at ${accounts.join(', ')}`, timeoutMs: 5_000 },
      );
      orderLatency.push(...arrivals.map((at) => at - sentAt));
      await waitUntil(() => accounts.every((account) => bridge(account).storedResult(requestId)), {
        what: `signal ${id} filled at ${accounts.join(', ')}`,
        timeoutMs: 5_000,
      });
    }
    return { ids, orderLatency: summary(orderLatency), answerLatency: summary(answerLatency) };
  };

  it('the others trade and check equity on; the stuck one is alerted and shown stale by name, then recovers', async () => {
    // Everyone trades before the fault.
    const before = await sendAndMeasure(ACCOUNTS);
    for (const id of ACCOUNTS) expect(await stateOf(id)).toBe('running');

    // iso-3's terminal stops answering anything (every method, every path).
    const hangAt = Date.now();
    bridge(STUCK).failNext({}, { kind: 'hang' }, 1_000_000);
    const stale = await telegram.waitForMessage(
      (m) => m.text.startsWith(`Heartbeat stale: account ${STUCK}`),
      STALE_AFTER_MS + 8_000,
    );
    const staleAfterMs = stale.receivedAt - hangAt;
    expect(stale.text).toMatch(
      new RegExp(
        `^Heartbeat stale: account ${STUCK}, no completed pass \\(equity check or order\\) for \\d+ s\\nLoop test-loop`,
      ),
    );
    const listed = (await t.admin('GET', '/api/v1/accounts')).body.accounts as {
      id: string;
      state: string;
    }[];
    expect(Object.fromEntries(listed.map((a) => [a.id, a.state]))).toEqual(
      Object.fromEntries(ACCOUNTS.map((id) => [id, id === STUCK ? 'stale' : 'running'])),
    );
    expect((await t.admin('GET', '/api/v1/accounts?state=stale')).body.accounts).toEqual([
      expect.objectContaining({ id: STUCK, state: 'stale' }),
    ]);
    expect((await t.admin('GET', `/api/v1/accounts/${STUCK}/status`)).body).toMatchObject({
      account_id: STUCK,
      account_state: 'stale',
    });
    // No other account was alerted stale.
    expect(telegram.messages.filter((m) => m.text.startsWith('Heartbeat stale'))).toHaveLength(1);

    // The others keep trading, promptly, and keep checking equity; the process stays live.
    const samplesAtStale = new Map(
      others.map((id) => [id, t.eventsOf('equity_sample').filter((e) => e.account_id === id).length]),
    );
    const during = await sendAndMeasure(others);
    expect((await fetch(`${t.baseUrl}/health/live`)).status).toBe(200);
    for (const id of others)
      await t.waitForEventCount(
        'equity_sample',
        (samplesAtStale.get(id) ?? 0) + 5,
        (e) => e.account_id === id,
        5_000,
      );
    expect(
      bridge(STUCK).fillLog.filter((f) => during.ids.some((id) => f.request_id === openRequestId(id))),
    ).toEqual([]);
    for (const id of others) expect(await stateOf(id)).toBe('running');
    expect(await stateOf(STUCK)).toBe('stale');
    // The heartbeat goes on and counts the stuck account as stale.
    const beats = await t.waitForMoreEvents('heartbeat', 1);
    expect(beats.at(-1)?.payload.accounts).toEqual({ total: 6, running: 5, halted: 0, stale: 1 });
    expect((await fetch(`${t.baseUrl}/health/live`)).status).toBe(200);
    // Readiness too: the process still takes signals for the others (only all stale fails it).
    expect((await fetch(`${t.baseUrl}/health/ready`)).status).toBe(200);
    expect(
      t.eventsOf('equity_sample').filter((e) => e.account_id === STUCK && e.at > stale.receivedAt),
    ).toEqual([]);

    // Held long enough for iso-3's client to give up on its terminal (timeouts, then the circuit
    // breaker) and for its equity to count as unreadable: none of that reaches the others.
    const blind = await t.waitForEvent(
      'equity_read_failed',
      (e) => e.account_id === STUCK && e.payload.consecutive_failures >= 3,
      30_000,
    );
    for (const id of others) expect(await stateOf(id)).toBe('running');
    expect(t.eventsOf('equity_read_failed').filter((e) => e.account_id !== STUCK)).toEqual([]);
    expect((await fetch(`${t.baseUrl}/health/live`)).status).toBe(200);

    // The fault clears: iso-3 recovers by name and runs again.
    const clearAt = Date.now();
    const hangWindowMs = clearAt - hangAt;
    // Equity checks a second, per account, over the whole hang (EQUITY_CHECK_INTERVAL_MS 100: about 10).
    const samplesPerSecondDuring = Object.fromEntries(
      ACCOUNTS.map((id) => [
        id,
        Math.round(
          (t.eventsOf('equity_sample').filter((e) => e.account_id === id && e.at >= hangAt && e.at <= clearAt)
            .length *
            10_000) /
            hangWindowMs,
        ) / 10,
      ]),
    );
    bridge(STUCK).clearFaults();
    // Read as raised (Telegram coalesces an identical text within 10 s, which the flapping of a
    // stuck account can produce; see the next test).
    const recovered = await t.waitForState(
      () =>
        heartbeatAlerts(STUCK).find(
          (a) => a.text.startsWith(`Heartbeat recovered: account ${STUCK}`) && a.at >= clearAt,
        ),
      `${STUCK} alerted recovered after the fault cleared`,
      20_000,
    );
    const recoveredAfterMs = recovered.at - clearAt;
    expect(recovered.text).toMatch(
      new RegExp(`^Heartbeat recovered: account ${STUCK}, passes complete again after \\d+ s`),
    );
    await waitUntil(async () => (await stateOf(STUCK)) === 'running', {
      what: `${STUCK} running again`,
      timeoutMs: 5_000,
      intervalMs: 100,
    });

    // Every signal of the hang ends on iso-3 too (executed late, or failed with its reason): none is lost.
    const ended = await t.waitForState(
      () => {
        const outcomes = during.ids.map((id) =>
          t.events.find(
            (e) =>
              e.account_id === STUCK &&
              (OUTCOMES as readonly string[]).includes(e.type) &&
              (e.payload as { signal_id?: string }).signal_id === id,
          ),
        );
        return outcomes.every((o) => o !== undefined) ? outcomes : undefined;
      },
      `every signal sent during the hang to end on ${STUCK}`,
      30_000,
    );
    const endings: Record<string, number> = {};
    for (const e of ended) {
      const payload = e?.payload as { reason?: string };
      const key = e?.type === 'trade_failed' ? `trade_failed: ${String(payload.reason)}` : String(e?.type);
      endings[key] = (endings[key] ?? 0) + 1;
      if (e?.type === 'trade_failed') expect(String(payload.reason)).not.toBe('');
    }
    // Nothing twice at iso-3's terminal.
    const requestIds = bridge(STUCK).fillLog.map((f) => f.request_id);
    expect(new Set(requestIds).size).toBe(requestIds.length);

    // After recovery it trades like the others again.
    const after = await sendAndMeasure(ACCOUNTS);

    console.log(
      `many-accounts isolation: ${JSON.stringify(
        {
          signal_to_order_ms: {
            all_six_before_the_hang: before.orderLatency,
            five_others_during_the_hang: during.orderLatency,
            all_six_after_recovery: after.orderLatency,
          },
          inbox_answer_ms: {
            before: before.answerLatency,
            during: during.answerLatency,
            after: after.answerLatency,
          },
          stale_alert_after_hang_ms: staleAfterMs,
          recovered_alert_after_clear_ms: recoveredAfterMs,
          hang_window_ms: hangWindowMs,
          stuck_equity_read_error: blind.payload.error,
          equity_samples_per_second_during_the_hang: samplesPerSecondDuring,
          stuck_account_endings_of_hang_signals: endings,
          stuck_account_heartbeat_alerts_ms_after_hang: heartbeatAlerts(STUCK).map(
            (a) => `${a.at - hangAt}: ${a.text.split(',')[0]}`,
          ),
          clear_ms_after_hang: clearAt - hangAt,
          stuck_account_heartbeat_telegram_ms_after_hang: telegram.messages
            .filter((m) => m.text.startsWith('Heartbeat') && m.text.includes(`account ${STUCK}`))
            .map((m) => `${m.receivedAt - hangAt}: ${m.text.split('\n')[0]}`),
        },
        null,
        1,
      )}`,
    );
    // Generous sanity only: the others are not held up by the stuck account's timeouts.
    expect(during.orderLatency.max).toBeLessThan(1_000);
    expect(during.answerLatency.max).toBeLessThan(1_000);
    for (const id of others) expect(samplesPerSecondDuring[id]).toBeGreaterThan(2);
    // Only the stuck account was ever alerted.
    expect(alerts.filter((a) => a.text.startsWith('Heartbeat') && a.accountId !== STUCK)).toEqual([]);
  }, 90_000);

  it('a signal that fails because the hanging terminal cannot be read is no recovery: the account stays stale', async () => {
    // docs/accounts.md, Isolation: "a terminal that hangs ties up only its account, which goes
    // stale"; Heartbeat: passes count because they "show that its broker answers".
    await sendAndMeasure(ACCOUNTS);
    const mark = bridge(STUCK).requests.length;
    bridge(STUCK).failNext({}, { kind: 'hang' }, 1_000_000);
    const hangAt = Date.now();
    await t.waitForState(
      () => heartbeatAlerts(STUCK).find((a) => a.text.startsWith(`Heartbeat stale: account ${STUCK}`)),
      `${STUCK} alerted stale`,
      STALE_AFTER_MS + 8_000,
    );
    expect(await stateOf(STUCK)).toBe('stale');

    // A signal for the stuck account alone: its pre-trade equity read hangs, times out, and the
    // signal fails for want of equity. Nothing reached the terminal and came back.
    const body = signalBody({ accounts: [STUCK], instrument: 'EURUSD', volume: 0.01 });
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    const failed = await t.waitForEvent(
      'trade_failed',
      (e) => e.account_id === STUCK && e.payload.signal_id === body.id,
      30_000,
    );
    expect(failed.payload.reason).toBe('equity_unavailable');
    // Every call to its terminal since the fault hung: none was answered.
    expect(
      bridge(STUCK)
        .requests.slice(mark)
        .every((r) => r.fault === 'hang'),
    ).toBe(true);
    const failedAfterMs = failed.at - hangAt;
    // Two heartbeats later, the terminal still hanging: still stale, and no recovery announced.
    await t.waitForMoreEvents('heartbeat', 2);
    const state = await stateOf(STUCK);
    const sequence = heartbeatAlerts(STUCK).map((a) => `${a.at - hangAt} ms: ${a.text.split(',')[0]}`);
    console.log(
      `stuck account, terminal hanging throughout: signal failed ${failedAfterMs} ms after the hang (${failed.payload.reason}); state now ${String(state)}; heartbeat alerts: ${JSON.stringify(sequence)}`,
    );
    expect({ state, recovered: sequence.filter((a) => a.includes('recovered')) }).toEqual({
      state: 'stale',
      recovered: [],
    });
  }, 60_000);
});

describe('many accounts: one bridge prefix hangs from before the start', () => {
  let host: FakeBridgeHost;
  let bridges: Map<string, FakeBridgeAccount>;
  let t: TestApp | undefined;
  const IDS = ['early-1', 'early-2', 'early-3'];
  const HUNG = 'early-2';

  afterEach(async () => {
    for (const b of bridges?.values() ?? []) {
      b.clearFaults();
      b.release();
    }
    try {
      await t?.close();
    } finally {
      await host?.close();
    }
  });

  it('the process gets ready and the others trade at once; the hung one starts when its terminal answers', async () => {
    host = await startFakeBridgeHost({ accountDefaults: { balance: 10_000, price: 1.1 } });
    bridges = new Map(IDS.map((id, i) => [id, host.addAccount(`e${i + 1}`)]));
    const hung = bridges.get(HUNG) as FakeBridgeAccount;
    hung.failNext({}, { kind: 'hang' }, 1_000_000);
    const accounts = await writeBridgeAccountsFile(
      IDS.map((id) => ({ id, bridge: bridges.get(id) as FakeBridgeAccount })),
      { channels: [CHANNEL] },
    );
    const startedAt = performance.now();
    t = await startTestApp({
      ...accounts.env,
      SIGNALS_HMAC_SECRET: SECRET,
      HEARTBEAT_INTERVAL_MS: '300',
      HEARTBEAT_STALE_AFTER_MS: String(STALE_AFTER_MS),
      EQUITY_CHECK_INTERVAL_MS: '100',
      // Long enough that waiting for the hung terminal's first reading (with its retries) would
      // hold the start far beyond the 5 s the start waits for the slowest broker.
      MT5_TIMEOUT_MS: '30000',
    });
    const app = t;
    const startMs = performance.now() - startedAt;
    expect(startMs).toBeLessThan(15_000);
    expect((await fetch(`${app.baseUrl}/health/ready`)).status).toBe(200);

    const body = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
    expect(await postSignal(app.baseUrl, SECRET, body)).toEqual({
      status: 202,
      body: { id: body.id, status: 'accepted', accounts: 3 },
    });
    const requestId = openRequestId(body.id as string);
    for (const id of IDS.filter((x) => x !== HUNG))
      await waitUntil(() => bridges.get(id)?.storedResult(requestId), {
        what: `${id} filled while ${HUNG} hangs`,
        timeoutMs: 5_000,
      });
    await waitUntil(
      async () =>
        (await app.admin('GET', '/api/v1/accounts')).body.accounts.find((a: { id: string }) => a.id === HUNG)
          ?.state === 'stale',
      { what: `${HUNG} shown stale`, timeoutMs: STALE_AFTER_MS + 5_000, intervalMs: 100 },
    );
    expect(hung.fillLog).toEqual([]);

    // Its terminal answers: its start finishes (the hanging first reading times out or is released),
    // and the signal queued for it trades exactly once.
    hung.clearFaults();
    hung.release();
    await waitUntil(() => hung.storedResult(requestId), {
      what: `${HUNG} fills the queued signal once its terminal answers`,
      timeoutMs: 40_000,
    });
    expect(hung.fillLog.filter((f) => f.request_id === requestId)).toHaveLength(1);
    console.log(`many accounts, one terminal hung from the start: ready after ${Math.round(startMs)} ms`);
  }, 90_000);
});
