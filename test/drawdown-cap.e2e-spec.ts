import { sampleValue } from './support/prometheus-sample';
import { AlertDispatcher, type Alert } from '@app/alerts';
import { Lifecycle } from '@app/common';
import { startFakeMt5Bridge, type FakeMt5Bridge } from './fakes/fake-mt5-bridge';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

const SECRET = 'inbox-secret-for-drawdown-tests';

/** The drawdown guard end to end against a fake MT5 bridge whose equity the test sets (docs/risk.md). */
describe('drawdown cap', () => {
  let bridge: FakeMt5Bridge;
  let t: TestApp;
  let alerts: Alert[];

  const start = async (env: Record<string, string> = {}) => {
    t = await startTestApp({
      ...bridge.serviceEnv(),
      MT5_TIMEOUT_MS: '300',
      SIGNALS_HMAC_SECRET: SECRET,
      EQUITY_CHECK_INTERVAL_MS: '100',
      DRAWDOWN_CONFIRM_READS: '2',
      ...env,
    });
    alerts = [];
    const dispatcher = t.app.get(AlertDispatcher);
    const send = dispatcher.send.bind(dispatcher);
    jest.spyOn(dispatcher, 'send').mockImplementation((alert: Alert) => {
      alerts.push(alert);
      send(alert);
    });
  };

  beforeEach(async () => {
    bridge = await startFakeMt5Bridge({ balance: 10_000 });
  });
  afterEach(async () => {
    await t?.close();
    await bridge.close();
  });

  it('closes all five positions within one check interval, latches halted, alerts, and refuses new signals', async () => {
    for (const symbol of ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD', 'EURUSD'])
      bridge.addPosition({ symbol, type: 'buy', volume: 0.1, magic: 19019 });
    await start();
    await t.waitForEvent('equity_sample', (e) => e.payload.baseline_equity === 10_000);

    const breachedAt = Date.now();
    bridge.setEquity(7_500);
    const triggered = await t.waitForEvent('drawdown_cap_triggered');
    const reaction = Date.now() - breachedAt;
    expect(reaction).toBeLessThan(100 * 2 + 1000); // two confirming reads at 100 ms, plus close time
    expect(triggered.payload).toMatchObject({
      drawdown_percent: 25,
      cap_percent: 20,
      positions_closed: 5,
      positions_failed: 0,
    });
    expect(triggered.payload.message).toBe('Drawdown 25.0% exceeds cap 20%; closed 5 positions');
    expect(bridge.positions()).toHaveLength(0);
    expect(alerts.find((a) => a.kind === 'drawdown_cap')?.text.split('\n')[0]).toBe(
      'Drawdown 25.0% exceeds cap 20%; closed 5 positions',
    );

    const status = await t.admin('GET', '/api/v1/status');
    expect(status.body).toMatchObject({
      state: 'halted',
      cap_percent: 20,
      halt: expect.objectContaining({ source: 'drawdown_cap' }),
    });

    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(sampleValue(metrics, 'trading_halted')).toBe(1);
    // LOOP_ID names the loop on every series, as in the log and the alerts.
    expect(metrics).toMatch(/^trading_halted\{account="default",loop_id="test-loop"\} 1$/m);
    expect(sampleValue(metrics, 'trading_drawdown_cap_triggers_total')).toBe(1);
    expect(sampleValue(metrics, 'trading_drawdown_cap_percent')).toBe(20);
    expect(sampleValue(metrics, 'trading_drawdown_percent')).toBe(25);
    expect(sampleValue(metrics, 'trading_equity')).toBe(7500);

    const ordersBefore = bridge.requestsTo('POST', '/v1/orders').length;
    const refused = await postSignal(t.baseUrl, SECRET, signalBody());
    expect(refused.status).toBe(423);
    await t.waitForLoopTicks(2); // a signal taken despite the 423 would have been sent by now
    expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(ordersBefore);
  });

  it('one bad read does not flatten the account: a trigger needs consecutive breaching reads', async () => {
    bridge.addPosition({ symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    await start({ EQUITY_CHECK_INTERVAL_MS: '200', DRAWDOWN_CONFIRM_READS: '3' });
    await t.waitForEvent('equity_sample', (e) => e.payload.baseline_equity === 10_000);
    bridge.setEquity(5_000);
    await t.waitForEvent('equity_sample', (e) => e.payload.equity === 5_000);
    bridge.setEquity(10_000);
    // Four more checks read the good equity: a guard that counted the bad read towards the three
    // confirming reads, or confirmed with a stale value, would have triggered by then.
    await t.waitForMoreEvents('equity_sample', 4, (e) => e.payload.equity === 10_000);
    expect(t.eventsOf('drawdown_cap_triggered')).toHaveLength(0);
    expect(bridge.positions()).toHaveLength(1);
  });

  it('refuses to open on a breaching read before any trigger is confirmed', async () => {
    await start({ DRAWDOWN_CONFIRM_READS: '50' });
    await t.waitForEvent('equity_sample', (e) => e.payload.baseline_equity === 10_000);
    bridge.setEquity(5_000);
    await t.waitForEvent('equity_sample', (e) => e.payload.equity === 5_000);
    expect(
      (await postSignal(t.baseUrl, SECRET, signalBody({ id: 'during-unconfirmed-breach' }))).status,
    ).toBe(202);
    const failed = await t.waitForEvent(
      'trade_failed',
      (e) => e.payload.signal_id === 'during-unconfirmed-breach',
    );
    expect(failed.payload.reason).toBe('drawdown_cap');
    expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(0);
    expect(t.eventsOf('drawdown_cap_triggered')).toHaveLength(0);
  });

  it('keeps closing through failures, reports them honestly, and never reports success early', async () => {
    for (const symbol of ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD', 'AUDUSD'])
      bridge.addPosition({ symbol, type: 'sell', volume: 0.2 });
    await start();
    await t.waitForEvent('equity_sample', (e) => e.payload.baseline_equity === 10_000);
    // Two closes refused for good at first, one times out repeatedly (answers too late for 300 ms).
    bridge.failNext({ method: 'POST', path: /\/close$/ }, { kind: 'retcode', retcode: 10006 }, 2);
    bridge.failNext({ method: 'POST', path: /\/close$/ }, { kind: 'http', status: 503 }, 12);
    bridge.setEquity(7_000);
    const triggered = await t.waitForEvent('drawdown_cap_triggered');
    expect(triggered.payload.positions_failed).toBeGreaterThan(0);
    expect(triggered.payload.positions_closed + triggered.payload.positions_failed).toBe(5);
    expect(triggered.payload.message).toBe(
      `Drawdown 30.0% exceeds cap 20%; closed ${triggered.payload.positions_closed} positions`,
    );
    const capAlert = alerts.find((a) => a.kind === 'drawdown_cap');
    expect(capAlert?.text).toContain('failed to close');
    // The guard keeps going until the broker lists nothing.
    await waitUntil(() => bridge.positions().length === 0, {
      what: 'the bridge to list no position',
      timeoutMs: 15_000,
    });
    expect(bridge.positions()).toHaveLength(0);
  });

  it('a manual halt closes everything and latches; resume needs reviewed_by, re-baselines, and is refused when not halted', async () => {
    bridge.addPosition({ symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    await start();
    await t.waitForEvent('equity_sample');
    expect((await t.admin('POST', '/api/v1/resume', { reviewed_by: 'alice' })).status).toBe(409);
    expect((await t.admin('POST', '/api/v1/halt', { reason: 'news spike' })).status).toBe(200);
    await t.waitForEvent('halted');
    // Step 3 of every halt reports it, a halt by hand too; it is no cap trigger in analytics.
    const reported = await t.waitForEvent('drawdown_cap_triggered');
    expect(reported.payload).toMatchObject({ cap: 'manual', positions_closed: 1, positions_failed: 0 });
    expect((await t.admin('GET', '/api/v1/analytics')).body.drawdown.cap_triggers).toBe(0);
    await waitUntil(() => bridge.positions().length === 0, {
      what: 'the bridge to list no position',
      timeoutMs: 5_000,
    });
    expect(bridge.positions()).toHaveLength(0);
    expect((await postSignal(t.baseUrl, SECRET, signalBody())).status).toBe(423);
    // A close-all that closed everything at the first pass has nothing more to tell.
    const later = Date.now() + 300;
    await t.waitForEvent('equity_sample', (e) => e.at > later);
    expect(alerts.filter((a) => a.kind === 'close_failures')).toEqual([]);

    expect((await t.admin('POST', '/api/v1/resume', { note: 'no reviewer' })).status).toBe(400);
    bridge.setEquity(9_000);
    const resumed = await t.admin('POST', '/api/v1/resume', {
      reviewed_by: 'alice',
      note: 'checked the news',
    });
    expect(resumed).toEqual({ status: 200, body: { state: 'running', baseline_equity: 9_000 } });
    expect((await postSignal(t.baseUrl, SECRET, signalBody())).status).toBe(202);
  });

  it('closes a position that appears while halted (an order that filled after the latch, or one opened by hand)', async () => {
    await start();
    await t.waitForEvent('equity_sample');
    expect((await t.admin('POST', '/api/v1/halt', { reason: 'late fill test' })).status).toBe(200);
    await t.waitForEvent('halted');
    // The halt's close-all has finished (nothing was open): its first pass is reported, and
    // nothing is closing any more.
    await t.waitForEvent('drawdown_cap_triggered');
    const guard = t.account().guard;
    await waitUntil(() => !guard.snapshot().closingInProgress, { what: "the halt's close-all to finish" });
    bridge.addPosition({ symbol: 'EURUSD', type: 'buy', volume: 0.1 }); // the late fill
    await waitUntil(() => bridge.positions().length === 0, {
      what: 'the bridge to list no position',
      timeoutMs: 5_000,
    });
    expect(bridge.positions()).toHaveLength(0);
    expect((await t.admin('GET', '/api/v1/status')).body.state).toBe('halted');
  });

  it('refuses a pending manual approval once halted, and signals while stopping', async () => {
    await start({ APPROVAL_MODE: 'manual' });
    await t.waitForEvent('equity_sample');
    const body = signalBody({ id: 'pending-before-halt' });
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    expect((await t.admin('POST', '/api/v1/halt', { reason: 'approval test' })).status).toBe(200);
    const approval = await t.admin('POST', '/api/v1/signals/pending-before-halt/approve', {});
    expect(approval).toMatchObject({ status: 423, body: { reason: 'halted' } });
    expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(0);

    t.app.get(Lifecycle).beginStopping(Date.now());
    expect((await postSignal(t.baseUrl, SECRET, signalBody())).status).toBe(503);
  });

  it('refuses admin calls without the token', async () => {
    await start();
    for (const [method, path] of [
      ['GET', '/api/v1/status'],
      ['POST', '/api/v1/halt'],
      ['POST', '/api/v1/resume'],
      ['GET', '/api/v1/positions'],
    ] as const) {
      const answer = await fetch(`${t.baseUrl}${path}`, {
        method,
        headers: { authorization: 'Bearer not-the-token' },
      });
      expect(answer.status).toBe(401);
    }
    expect((await t.admin('GET', '/api/v1/status')).body.state).toBe('running');
    // Without DEBUG_FAULTS the fault injectors are absent to everyone, with or without a token.
    for (const path of ['/api/v1/debug/stall-loop', '/api/v1/debug/block-event-loop']) {
      expect((await fetch(`${t.baseUrl}${path}`, { method: 'POST' })).status).toBe(404);
      expect((await t.admin('POST', path, { ms: 10 })).status).toBe(404);
    }
  });
});
