import { AlertDispatcher, type Alert } from '@app/alerts';
import { BROKER_FLEET, type BrokerFleet } from '@app/core';
import type { PaperBrokerGateway } from '@app/mt5/paper/paper-broker-gateway';
import { startFakeMt5Bridge, type FakeMt5Bridge } from './fakes/fake-mt5-bridge';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';

const SECRET = 'inbox-secret-for-position-closed';

/**
 * A position the service opened disappears without the service closing it: the events say why
 * (`position_closed` with `sl`, `tp`, `stop_out` or `external`), from the bridge's deal history.
 */
describe('position_closed (HTTP bridge)', () => {
  let bridge: FakeMt5Bridge;
  let t: TestApp;
  let alerts: Alert[];

  beforeEach(async () => {
    bridge = await startFakeMt5Bridge({ balance: 10_000 });
    t = await startTestApp({
      ...bridge.serviceEnv(),
      SIGNALS_HMAC_SECRET: SECRET,
      EQUITY_CHECK_INTERVAL_MS: '100',
    });
    alerts = [];
    const dispatcher = t.app.get(AlertDispatcher);
    const send = dispatcher.send.bind(dispatcher);
    jest.spyOn(dispatcher, 'send').mockImplementation((alert: Alert) => {
      alerts.push(alert);
      send(alert);
    });
  });
  afterEach(async () => {
    await t.close();
    await bridge.close();
  });

  /** Open one position through the inbox; resolves with its ticket once the guard has listed it. */
  const open = async (instrument = 'EURUSD'): Promise<number> => {
    const body = signalBody({ instrument, sl: 1.0, tp: 1.2 });
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    const executed = await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === body.id);
    const listed = t.eventsOf('equity_sample').length;
    await t.waitForEvent('equity_sample', () => t.eventsOf('equity_sample').length > listed + 1);
    return executed.payload.ticket;
  };

  it.each([
    ['sl', 'sl', 1.0],
    ['tp', 'tp', 1.2],
  ] as const)(
    'a close by the terminal at %s is position_closed with reason %s and the deal price',
    async (dealReason, reason, price) => {
      const ticket = await open();
      bridge.closeWithoutRequest(ticket, dealReason, price);
      const closed = await t.waitForEvent('position_closed', (e) => e.payload.ticket === ticket);
      expect(closed.payload).toMatchObject({ reason, symbol: 'EURUSD', side: 'buy', volume: 0.1, price });
      expect(closed.payload.profit).toBeCloseTo((price - 1.1) * 0.1 * 100_000, 2);
      expect(alerts.filter((a) => a.kind === 'position_closed')).toEqual([]);
    },
  );

  it('a stop-out and a close by a person are reported and alerted', async () => {
    const stopped = await open();
    const byHand = await open('GBPUSD');
    bridge.closeWithoutRequest(stopped, 'so');
    bridge.closeWithoutRequest(byHand, 'client');
    await t.waitForEvent('position_closed', (e) => e.payload.ticket === stopped);
    await t.waitForEvent('position_closed', (e) => e.payload.ticket === byHand);
    const reasons = Object.fromEntries(
      t.eventsOf('position_closed').map((e) => [e.payload.ticket, e.payload.reason]),
    );
    expect(reasons).toEqual({ [stopped]: 'stop_out', [byHand]: 'external' });
    const texts = alerts.filter((a) => a.kind === 'position_closed').map((a) => a.text.split('\n')[0]);
    expect(texts).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`Position ${stopped} (EURUSD buy 0.1) was closed by a margin stop-out`),
        expect.stringContaining(
          `Position ${byHand} (GBPUSD buy 0.1) was closed by someone other than the bot`,
        ),
      ]),
    );
  });

  it("says nothing of the service's own closes (a close signal, a halt)", async () => {
    const first = await open();
    const body = signalBody({ instrument: 'EURUSD', side: 'close' });
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    await t.waitForEvent('positions_closed', (e) => e.payload.signal_id === body.id);
    const second = await open('GBPUSD');
    expect((await t.admin('POST', '/api/v1/halt', { reason: 'test' })).status).toBe(200);
    await t.waitForEvent('drawdown_cap_triggered');
    const samples = t.eventsOf('equity_sample').length;
    await t.waitForEvent('equity_sample', () => t.eventsOf('equity_sample').length > samples + 3);
    expect(bridge.positions()).toEqual([]);
    expect(t.eventsOf('position_closed').filter((e) => [first, second].includes(e.payload.ticket))).toEqual(
      [],
    );
  });

  it('a gone position whose deals cannot be read is still reported, as external with the reason why', async () => {
    const ticket = await open();
    bridge.failNext({ method: 'GET', path: '/v1/deals' }, { kind: 'http', status: 404 }, 100);
    bridge.closeWithoutRequest(ticket, 'sl', 1.0);
    const closed = await t.waitForEvent('position_closed', (e) => e.payload.ticket === ticket);
    expect(closed.payload).toMatchObject({ reason: 'external', detail: 'deals unavailable: http_404' });
  });
});

/** The same on the embedded paper account: its stop loss, take profit and stop-out are real closes. */
describe('position_closed (paper account)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ SIGNALS_HMAC_SECRET: SECRET, EQUITY_CHECK_INTERVAL_MS: '100' });
  });
  afterEach(async () => {
    await t.close();
  });

  const paper = () => t.app.get<BrokerFleet>(BROKER_FLEET).gateway('default') as PaperBrokerGateway;

  it('a stop loss crossed by the price closes the position at its level, and the event says sl', async () => {
    const body = signalBody({ instrument: 'EURUSD', side: 'buy', volume: 0.1, sl: 1.0, tp: 1.5 });
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    const executed = await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === body.id);
    const samples = t.eventsOf('equity_sample').length;
    await t.waitForEvent('equity_sample', () => t.eventsOf('equity_sample').length > samples + 1);
    // EURUSD starts near 1.085: a 10 % fall goes through the stop at 1.0 in one move.
    expect((await paper().applyPriceShock('EURUSD', -10)).ok).toBe(true);
    const closed = await t.waitForEvent(
      'position_closed',
      (e) => e.payload.ticket === executed.payload.ticket,
    );
    expect(closed.payload).toMatchObject({ reason: 'sl', price: 1.0, side: 'buy', volume: 0.1 });
    expect(closed.payload.profit).toBeCloseTo((1.0 - executed.payload.fill_price) * 0.1 * 100_000, 2);
    expect((await t.admin('GET', '/api/v1/positions')).body.positions).toEqual([]);
  });
});
