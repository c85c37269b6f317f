import { openRequestId } from '@app/core';
import { startFakeMt5Bridge, type BridgeFault, type FakeMt5Bridge } from './fakes/fake-mt5-bridge';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

const SECRET = 'inbox-secret-for-broker-fault-tests';
const ORDERS = { method: 'POST', path: '/v1/orders' } as const;
const TIMEOUT_MS = 300;
const EQUITY_CHECK_INTERVAL_MS = 200;

type Terminal = { signal_id: string; outcome: 'executed' | 'failed' | 'rejected'; reason?: string };

/**
 * The HTTP bridge gateway end to end (docs/mt5-bridge.md): the real app with MT5_GATEWAY=http against
 * a fake bridge on 127.0.0.1 that verifies every signature and injects faults. What must hold in
 * every case: each accepted signal ends exactly once, and the account holds at most one position
 * per signal (the fake counts fills and distinct idempotency keys).
 */
describe('broker faults (HTTP bridge)', () => {
  let bridge: FakeMt5Bridge;
  let t: TestApp;

  const start = async (env: Record<string, string> = {}) => {
    t = await startTestApp({
      ...bridge.serviceEnv(),
      MT5_TIMEOUT_MS: String(TIMEOUT_MS),
      MT5_MAX_RETRIES: '3',
      SIGNALS_HMAC_SECRET: SECRET,
      EQUITY_CHECK_INTERVAL_MS: String(EQUITY_CHECK_INTERVAL_MS),
      ...env,
    });
  };

  /** Every terminal event of a signal: executed, failed or rejected. */
  const terminals = (signalId: string): Terminal[] =>
    t.events.flatMap((e): Terminal[] => {
      if (e.type === 'trade_executed' && e.payload.signal_id === signalId)
        return [{ signal_id: signalId, outcome: 'executed' }];
      if (e.type === 'trade_failed' && e.payload.signal_id === signalId)
        return [{ signal_id: signalId, outcome: 'failed', reason: e.payload.reason }];
      if (e.type === 'signal_rejected' && e.payload.signal_id === signalId)
        return [{ signal_id: signalId, outcome: 'rejected', reason: e.payload.reason }];
      return [];
    });

  /** Post a signal (must be accepted) and wait until it ends. */
  const trade = async (
    overrides: Record<string, unknown> = {},
    waitMs = 10_000,
  ): Promise<{ id: string; end: Terminal }> => {
    const body = signalBody(overrides);
    const id = String(body.id);
    const answer = await postSignal(t.baseUrl, SECRET, body);
    expect(answer.status).toBe(202);
    const end = await t.waitForState(() => terminals(id)[0], `signal ${id} to end`, waitMs);
    return { id, end };
  };

  /** One position per executed signal, found by the request id in its comment; none for the others. */
  const expectOnePositionPer = (executed: string[]) => {
    const comments = bridge.positions().map((p) => p.comment);
    for (const id of executed) expect(comments.filter((c) => c === openRequestId(id))).toHaveLength(1);
    expect(comments).toHaveLength(executed.length);
    expect(bridge.fills).toBe(executed.length);
  };

  const expectEverySignatureOk = () => {
    expect(bridge.requests.length).toBeGreaterThan(0);
    expect(bridge.requests.filter((r) => !r.signatureOk)).toEqual([]);
  };

  beforeEach(async () => {
    bridge = await startFakeMt5Bridge({ balance: 10_000 });
  });
  afterEach(async () => {
    await t?.close();
    await bridge.close();
  });

  const firstAttemptFaults: [string, BridgeFault][] = [
    ['HTTP 503', { kind: 'http', status: 503 }],
    ['a connection dropped before the bridge acted', { kind: 'reset' }],
    ['a connection dropped after the bridge executed (lost answer)', { kind: 'reset_after_execute' }],
    ['REQUOTE (10004)', { kind: 'retcode', retcode: 10004 }],
    [
      `an answer later than MT5_TIMEOUT_MS (${TIMEOUT_MS} ms; executed at once)`,
      { kind: 'delay', ms: TIMEOUT_MS * 3 },
    ],
  ];

  it.each(firstAttemptFaults)(
    'the first attempt of each order fails with %s: every signal is filled exactly once, same key, every call signed',
    async (_name, fault) => {
      await start();
      const ids: string[] = [];
      for (const instrument of ['EURUSD', 'GBPUSD', 'USDJPY']) {
        bridge.failNext(ORDERS, fault, 1);
        const { id, end } = await trade({ instrument });
        expect(end).toEqual({ signal_id: id, outcome: 'executed' });
        ids.push(id);
      }
      // Late answers and stray retries would show up here: every answer the fake held back has
      // gone out, and the drawdown guard completed as many checks as fit in TIMEOUT_MS * 4 (each
      // a round trip to the same bridge), time for any retry of any of the three orders.
      await waitUntil(() => bridge.delayedAnswersPending === 0, {
        what: 'the late answers of the fake bridge to go out',
      });
      await t.waitForMoreEvents('equity_sample', (TIMEOUT_MS * 4) / EQUITY_CHECK_INTERVAL_MS);
      for (const id of ids) {
        expect(terminals(id)).toHaveLength(1);
        const attempts = bridge
          .requestsTo('POST', '/v1/orders')
          .filter((r) => r.idempotencyKey === openRequestId(id));
        // The fault really happened, and the retry re-used the key.
        expect(attempts.length).toBeGreaterThanOrEqual(2);
        expect(attempts[0].fault).toBe(fault.kind);
      }
      expect(bridge.distinctOrderKeys.sort()).toEqual(ids.map(openRequestId).sort());
      expectOnePositionPer(ids);
      expectEverySignatureOk();
    },
  );

  it('an order that times out on every attempt is resolved by the comment, never sent as a second position', async () => {
    // MT5_MAX_RETRIES=1: the executor sends the order twice (the gateway never retries a POST); both time out.
    await start({ MT5_MAX_RETRIES: '1' });
    bridge.failNext(ORDERS, { kind: 'delay', ms: TIMEOUT_MS * 3 }, 100);
    const { id, end } = await trade();
    expect(end).toEqual({ signal_id: id, outcome: 'executed' });
    const executed = t.eventsOf('trade_executed').find((e) => e.payload.signal_id === id);
    expect(executed?.payload).toMatchObject({
      request_id: openRequestId(id),
      ticket: bridge.positions()[0].ticket,
    });
    // Every attempt carried the same key; the bridge's store made them one fill. Retries are
    // counted in one layer: MT5_MAX_RETRIES + 1 POSTs, not (MT5_MAX_RETRIES + 1)^2.
    expect(bridge.distinctOrderKeys).toEqual([openRequestId(id)]);
    expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(2);
    expectOnePositionPer([id]);
    expectEverySignatureOk();
  });

  it('a garbage body gives trade_failed with the reason, and the loop goes on: the next signal fills', async () => {
    await start();
    bridge.failNext(ORDERS, { kind: 'garbage' }, 1);
    // Unreadable, so unknown: it is failed only once a listing comes after the bridge's 30 s
    // signature window (plus 5 s for the clocks), when the order can no longer arrive.
    const bad = await trade({ instrument: 'EURUSD' }, 45_000);
    expect(bad.end.outcome).toBe('failed');
    expect(bad.end.reason).toContain('invalid_response');
    const failed = t.eventsOf('trade_failed').find((e) => e.payload.signal_id === bad.id);
    expect(failed?.payload.error).toContain('not JSON');

    const good = await trade({ instrument: 'EURUSD' });
    expect(good.end.outcome).toBe('executed');
    // A second end of the bad one, or another order, would come from the loop or a settlement behind it.
    await t.waitForLoopTicks(2);
    await t.waitForRecordedOutcomes();
    expect(terminals(bad.id)).toHaveLength(1);
    expectOnePositionPer([good.id]);
    expectEverySignatureOk();
  }, 70_000);

  it('a garbage body for an order the bridge did execute is resolved by the comment, not reported failed', async () => {
    await start();
    // 200 with a body that does not parse, after the terminal took the order: fill it by hand first.
    bridge.failNext(ORDERS, { kind: 'garbage', body: '<html>proxy error</html>' }, 1);
    const body = signalBody();
    const id = String(body.id);
    bridge.addPosition({
      symbol: 'EURUSD',
      type: 'buy',
      volume: 0.1,
      magic: 19019,
      comment: openRequestId(id),
    });
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    const executed = await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === id);
    expect(executed.payload.ticket).toBe(bridge.positions()[0].ticket);
    expect(terminals(id)).toHaveLength(1);
    expect(bridge.positions()).toHaveLength(1);
    expectEverySignatureOk();
  });

  // The issue asks for a 30 s outage; 3 s exercises the same path (circuit opens, probes, closes) in a fast test.
  const OUTAGE_MS = 3_000;
  /**
   * The outage, counted by the service: as many failed equity checks as fit in OUTAGE_MS, each
   * one a read the circuit refused or the dead bridge did not answer, so slow machine or not, the
   * service lives through the same outage.
   */
  const OUTAGE_CHECKS = OUTAGE_MS / EQUITY_CHECK_INTERVAL_MS;
  const failedReads = () => t.eventsOf('equity_read_failed').length;
  const outageLasted = (failedReadsAtDown: number) =>
    t.waitForEventCount('equity_read_failed', failedReadsAtDown + OUTAGE_CHECKS, undefined, OUTAGE_MS * 5);

  it(`bridge down ${OUTAGE_MS / 1000} s then back: readiness red then green, liveness green throughout, no order lost or doubled`, async () => {
    await start();
    const ready = async () => (await fetch(`${t.baseUrl}/health/ready`)).status;
    const live = async () => (await fetch(`${t.baseUrl}/health/live`)).status;
    expect(await ready()).toBe(200);
    const before = await trade({ instrument: 'EURUSD' });
    expect(before.end.outcome).toBe('executed');

    await bridge.setDown(true);
    const failedReadsAtDown = failedReads();
    await waitUntil(async () => (await ready()) === 503, {
      what: 'readiness to fail',
      timeoutMs: 5_000,
      intervalMs: 100,
    });
    expect(await live()).toBe(200);

    // Signals accepted while the bridge is down end once, failed with a reason (nothing can be traded).
    const during = [];
    for (const instrument of ['GBPUSD', 'USDJPY']) during.push(await trade({ instrument }, 15_000));
    for (const { end } of during) {
      expect(end.outcome).toBe('failed');
      expect(end.reason).toEqual(expect.any(String));
      expect(end.reason?.length).toBeGreaterThan(0);
    }
    expect(await live()).toBe(200);
    await outageLasted(failedReadsAtDown);
    expect(await ready()).toBe(503);

    await bridge.setDown(false);
    await waitUntil(async () => (await ready()) === 200, {
      what: 'readiness to recover',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(await live()).toBe(200);
    // The drawdown guard blocks new positions after failed equity reads until its own periodic
    // check reads equity again (a readiness probe does not count): wait for that read.
    await t.waitForMoreEvents('equity_sample', 1, undefined, 5_000);
    const after = await trade({ instrument: 'EURUSD' });
    expect(after.end).toEqual({ signal_id: after.id, outcome: 'executed' });

    // A second end of any of them, or a stray order, would come from the loop or a settlement behind it.
    await t.waitForLoopTicks(2);
    await t.waitForRecordedOutcomes();
    for (const id of [before.id, after.id, ...during.map((d) => d.id)]) expect(terminals(id)).toHaveLength(1);
    expectOnePositionPer([before.id, after.id]);
    expectEverySignatureOk();
  }, 40_000);

  it('the bridge dies while an order it already executed is in flight: the order is resolved once it is back, filled exactly once', async () => {
    // One retry per layer, so every re-send has failed well before the bridge is back.
    await start({ MT5_MAX_RETRIES: '1' });
    expect((await trade({ instrument: 'EURUSD' })).end.outcome).toBe('executed');
    // Executes at once, answers only after the outage: the answer is lost with the connection.
    bridge.failNext(ORDERS, { kind: 'delay', ms: 60_000 }, 1);
    const body = signalBody({ instrument: 'GBPUSD' });
    const id = String(body.id);
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    await waitUntil(() => bridge.fills === 2, { what: 'the fake to execute the order', timeoutMs: 5_000 });
    await bridge.setDown(true);
    await outageLasted(failedReads());
    expect(terminals(id)).toEqual([]); // unknown outcome: not declared failed while it cannot be checked
    await bridge.setDown(false);
    const executed = await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === id, 20_000);
    expect(executed.payload.request_id).toBe(openRequestId(id));
    // A second end would come from the loop or a settlement behind it.
    await t.waitForLoopTicks(2);
    await t.waitForRecordedOutcomes();
    expect(terminals(id)).toHaveLength(1);
    expect(bridge.distinctOrderKeys).toHaveLength(2);
    expect(bridge.positions().filter((p) => p.comment === openRequestId(id))).toHaveLength(1);
    expect(bridge.fills).toBe(2);
    expectEverySignatureOk();
  }, 40_000);

  it('an outage longer than the in-tick wait: the unknown order stays open (not "failed", a hidden position) and ends executed once the bridge is back', async () => {
    // HEARTBEAT_STALE_AFTER_MS=2000 bounds the in-tick wait to 1 s, well inside the 3 s outage.
    // Found by the chaos stress run: 55 signals ended "failed ... positions could not be listed
    // (circuit_open)" while their orders had filled.
    await start({ MT5_MAX_RETRIES: '1', HEARTBEAT_INTERVAL_MS: '500', HEARTBEAT_STALE_AFTER_MS: '2000' });
    expect((await trade({ instrument: 'EURUSD' })).end.outcome).toBe('executed');
    bridge.failNext(ORDERS, { kind: 'delay', ms: 60_000 }, 1);
    const body = signalBody({ instrument: 'GBPUSD' });
    const id = String(body.id);
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    await waitUntil(() => bridge.fills === 2, { what: 'the fake to execute the order', timeoutMs: 5_000 });
    await bridge.setDown(true);
    const failedReadsAtDown = failedReads();
    // The in-tick wait (1 s) is over and the loop goes on: where "failed" used to be declared.
    await t.waitForLoopTicks(2, OUTAGE_MS * 5);
    await outageLasted(failedReadsAtDown);
    expect(terminals(id)).toEqual([]);
    await bridge.setDown(false);
    const executed = await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === id, 20_000);
    expect(executed.payload.request_id).toBe(openRequestId(id));
    // A second end would come from the loop or a settlement behind it.
    await t.waitForLoopTicks(2);
    await t.waitForRecordedOutcomes();
    expect(terminals(id)).toHaveLength(1);
    expect(bridge.fills).toBe(2);
    // The loop was not held up meanwhile: the next signal fills as usual.
    expect((await trade({ instrument: 'USDJPY' })).end.outcome).toBe('executed');
  }, 40_000);
});
