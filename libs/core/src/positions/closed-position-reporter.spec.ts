import type { Alert } from '../alerts/alert';
import { fail, ok, type BrokerResult } from '../broker/broker-error';
import type { BrokerGateway } from '../broker/broker-gateway.port';
import type { ClosePositionRequest, Deal, Position, TradeResult } from '../broker/broker-types';
import type { TradingEvent, TradingEventMap, TradingEventType } from '../events/trading-events';
import { silentLogger } from '../logging/core-logger.port';
import { CloseAllPositions } from '../risk/close-all-positions';
import { ManualClock } from '../time/clock';
import { ClosedPositionReporter } from './closed-position-reporter';
import { positionFixture } from '../testing/position-fixture';
import { positionGoneResult } from '../testing/trade-result-fixture';

const MAGIC = 19019;
const position = (ticket: number): Position =>
  positionFixture({ ticket, comment: `o-${ticket}`, time: '2026-11-30T00:00:00.000Z' });
const closingDeal = (ticket: number, over: Partial<Deal> = {}): Deal => ({
  ticket: 1000 + ticket,
  order: 1,
  position: ticket,
  symbol: 'EURUSD',
  type: 'sell',
  entry: 'out',
  volume: 0.1,
  price: 1.05,
  profit: -500,
  reason: 'so',
  magic: MAGIC,
  comment: '',
  time: '2026-11-30T00:00:01.000Z',
  ...over,
});

/** A broker with only what the reporter and a close-all use: positions, deals and closes. */
function broker(over: Partial<BrokerGateway>): BrokerGateway {
  const never = () => Promise.reject(new Error('not in this test'));
  return {
    health: never,
    account: never,
    positions: never,
    deals: never,
    symbol: never,
    openPosition: never,
    closePosition: never,
    ...over,
  };
}

function recorder() {
  const events: TradingEvent[] = [];
  const alerts: Alert[] = [];
  return {
    events,
    alerts,
    sink: {
      publish<K extends TradingEventType>(type: K, payload: TradingEventMap[K]) {
        events.push({ type, at: 0, payload } as unknown as TradingEvent);
      },
    },
    alertSink: { send: (alert: Alert) => void alerts.push(alert) },
    reasons: () =>
      events.filter((e) => e.type === 'position_closed').map((e) => (e.payload as { reason: string }).reason),
  };
}

describe('ClosedPositionReporter', () => {
  it('reports nothing for a position missing from one list and listed again (it is open)', async () => {
    const r = recorder();
    const reporter = new ClosedPositionReporter(
      broker({ deals: async () => ok([]) }),
      MAGIC,
      r.sink,
      r.alertSink,
      silentLogger,
      () => false,
      'loop-1',
    );
    reporter.observe([position(7)]);
    reporter.observe([]); // a terminal reconnecting lists nothing once
    for (let check = 0; check < 6; check++) {
      reporter.observe([position(7)]);
      await reporter.settled();
    }
    expect(r.reasons()).toEqual([]);
    expect(r.alerts).toEqual([]);
  });

  it('without a deal history it still reports the close, but accuses no one', async () => {
    const r = recorder();
    const reporter = new ClosedPositionReporter(
      broker({ deals: async () => fail('final', 'http_404', 'GET /v1/deals: HTTP 404') }),
      MAGIC,
      r.sink,
      r.alertSink,
      silentLogger,
      () => false,
      'loop-1',
    );
    reporter.observe([position(8)]);
    for (let check = 0; check < 6; check++) {
      reporter.observe([]);
      await reporter.settled();
    }
    expect(r.reasons()).toEqual(['external']);
    expect(r.alerts.map((a) => a.text.split('\n')[0])).toEqual([
      'Position 8 (EURUSD buy 0.1) was closed without the bot, and the broker could not say by whom; profit 0.00',
    ]);
  });

  it("knows a close of the service's own by its request id in the deal comment, whatever the magic", async () => {
    const r = recorder();
    const own = closingDeal(10, { reason: 'expert', magic: 0, comment: 'c-0123456789abcdef012345' });
    const reporter = new ClosedPositionReporter(
      broker({ deals: async () => ok([own]) }),
      MAGIC,
      r.sink,
      r.alertSink,
      silentLogger,
      () => false,
      'loop-1',
    );
    reporter.observe([position(10)]);
    reporter.observe([]);
    await reporter.settled();
    expect(r.reasons()).toEqual([]);
  });

  it('catches a position the service opened and that closed before the next list', async () => {
    const r = recorder();
    const reporter = new ClosedPositionReporter(
      broker({ deals: async () => ok([closingDeal(11, { reason: 'sl', price: 1.0 })]) }),
      MAGIC,
      r.sink,
      r.alertSink,
      silentLogger,
      () => false,
      'loop-1',
    );
    reporter.observe([]);
    reporter.track(position(11)); // filled just now
    reporter.observe([]); // and already gone at the next list
    await reporter.settled();
    expect(r.reasons()).toEqual(['sl']);
  });

  it('reports a stop-out that closed a position between a halt listing it and closing it', async () => {
    const r = recorder();
    let open = [position(9)];
    const gateway = broker({
      positions: async () => ok(open),
      deals: async (): Promise<BrokerResult<Deal[]>> => ok(open.length === 0 ? [closingDeal(9)] : []),
      // The broker's margin stop-out closes it just before the halt's close arrives.
      closePosition: async (request: ClosePositionRequest): Promise<BrokerResult<TradeResult>> => {
        open = [];
        return ok(positionGoneResult(request.request_id, request.ticket, "Position doesn't exist"));
      },
    });
    const closer = new CloseAllPositions(gateway, new ManualClock(), silentLogger, {
      sleep: async () => undefined,
    });
    const reporter = new ClosedPositionReporter(
      gateway,
      MAGIC,
      r.sink,
      r.alertSink,
      silentLogger,
      // as the drawdown guard wires it
      (p) => closer.closed.closedByUs(p.comment),
      'loop-1',
    );
    reporter.observe([position(9)]);
    const report = await closer.closeAll('halt-1', { keepTrying: true });
    reporter.observe([]);
    await reporter.settled();
    expect(report.closed).toBe(1);
    expect(r.reasons()).toEqual(['stop_out']);
    expect(r.alerts).toHaveLength(1);
  });
});
