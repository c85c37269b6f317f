import {
  classifyRetcode,
  Retcode,
  type BrokerGateway,
  type BrokerResult,
  type OpenOrderRequest,
} from '@app/core';

export interface BrokerGatewayFixture {
  gateway: BrokerGateway;
  teardown(): Promise<void>;
}

const MAGIC = 19019;

/** The value of an ok result; fails the test with the error otherwise. */
function expectOk<T>(result: BrokerResult<T>): T {
  if (!result.ok)
    throw new Error(`expected ok, got ${result.error.kind}/${result.error.code}: ${result.error.message}`);
  return result.value;
}

/**
 * The conformance suite of the broker port: every adapter (paper, HTTP bridge, ...) must pass
 * it. `setup` runs before each test and must give a fresh account quoting EURUSD with room for
 * a 0.1 lot position.
 */
export function describeBrokerGatewayContract(
  name: string,
  setup: () => Promise<BrokerGatewayFixture>,
): void {
  describe(`BrokerGateway contract: ${name}`, () => {
    let fixture: BrokerGatewayFixture;
    let gateway: BrokerGateway;
    let seq = 0;

    beforeEach(async () => {
      fixture = await setup();
      gateway = fixture.gateway;
    });

    afterEach(async () => {
      await fixture.teardown();
    });

    const order = (overrides: Partial<OpenOrderRequest> = {}): OpenOrderRequest => {
      seq += 1;
      const requestId = `ct-${name.replace(/[^a-z0-9]/gi, '').slice(0, 8)}-${seq}`;
      return {
        request_id: requestId,
        symbol: 'EURUSD',
        type: 'buy',
        volume: 0.1,
        magic: MAGIC,
        comment: requestId,
        ...overrides,
      };
    };

    it('answers health', async () => {
      expect(typeof expectOk(await gateway.health()).connected).toBe('boolean');
    });

    it('describes EURUSD: a contract size, a tick worth money, a volume range and a live quote', async () => {
      const info = expectOk(await gateway.symbol('EURUSD'));
      expect(info.symbol).toBe('EURUSD');
      expect(info.contract_size).toBeGreaterThan(0);
      expect(info.tick_size).toBeGreaterThan(0);
      expect(info.tick_value).toBeGreaterThan(0);
      expect(info.volume_min).toBeGreaterThan(0);
      expect(info.volume_step).toBeGreaterThan(0);
      expect(info.volume_max).toBeGreaterThanOrEqual(info.volume_min);
      expect(info.ask).toBeGreaterThanOrEqual(info.bid);
      expect(info.bid).toBeGreaterThan(0);
    });

    it('answers a symbol it does not know with a final unknown_symbol', async () => {
      const answer = await gateway.symbol('NOSUCH');
      expect(answer).toMatchObject({ ok: false, error: { kind: 'final', code: 'unknown_symbol' } });
    });

    it('opens EURUSD 0.1 with DONE and a ticket', async () => {
      const result = expectOk(await gateway.openPosition(order()));
      expect(result.retcode).toBe(Retcode.DONE);
      expect(result.position).toBeGreaterThan(0);
      expect(result.volume).toBeCloseTo(0.1, 8);
      expect(result.price).toBeGreaterThan(0);
    });

    it('lists the opened position with its magic and comment', async () => {
      const request = order();
      const opened = expectOk(await gateway.openPosition(request));
      const positions = expectOk(await gateway.positions());
      const position = positions.find((p) => p.ticket === opened.position);
      expect(position).toMatchObject({
        symbol: 'EURUSD',
        type: 'buy',
        magic: MAGIC,
        comment: request.request_id,
      });
      expect(position?.volume).toBeCloseTo(0.1, 8);
    });

    it('answers a repeated request_id with the same result and trades only once', async () => {
      const request = order();
      const first = expectOk(await gateway.openPosition(request));
      const second = expectOk(await gateway.openPosition(request));
      expect(second).toEqual(first);
      const positions = expectOk(await gateway.positions());
      expect(positions.filter((p) => p.comment === request.request_id)).toHaveLength(1);
    });

    it('closes a position with DONE and it is gone', async () => {
      const opened = expectOk(await gateway.openPosition(order()));
      const closed = expectOk(
        await gateway.closePosition({ request_id: `${order().request_id}-c`, ticket: opened.position }),
      );
      expect(closed.retcode).toBe(Retcode.DONE);
      expect(closed.volume).toBeCloseTo(0.1, 8);
      const positions = expectOk(await gateway.positions());
      expect(positions.some((p) => p.ticket === opened.position)).toBe(false);
    });

    it('keeps the deals of a position: an opening deal and, once closed, a closing one by a program', async () => {
      const request = order();
      const opened = expectOk(await gateway.openPosition(request));
      const whileOpen = expectOk(await gateway.deals(opened.position));
      expect(whileOpen).toEqual([
        expect.objectContaining({
          position: opened.position,
          symbol: 'EURUSD',
          type: 'buy',
          entry: 'in',
          reason: 'expert',
          magic: MAGIC,
        }),
      ]);
      expect(whileOpen[0]?.volume).toBeCloseTo(0.1, 8);
      const closed = expectOk(
        await gateway.closePosition({ request_id: `${request.request_id}-c`, ticket: opened.position }),
      );
      const deals = expectOk(await gateway.deals(opened.position));
      expect(deals.map((d) => [d.entry, d.type, d.reason])).toEqual([
        ['in', 'buy', 'expert'],
        ['out', 'sell', 'expert'],
      ]);
      expect(deals[1]?.ticket).toBe(closed.deal);
      expect(deals[1]?.price).toBe(closed.price);
      expect(Number.isFinite(deals[1]?.profit)).toBe(true);
    });

    it('lists no deals for a position it never had', async () => {
      expect(expectOk(await gateway.deals(987_654_321))).toEqual([]);
    });

    it('answers POSITION_CLOSED (10036) when closing an unknown ticket', async () => {
      const result = expectOk(
        await gateway.closePosition({ request_id: `${order().request_id}-c`, ticket: 987_654_321 }),
      );
      expect(result.retcode).toBe(Retcode.POSITION_CLOSED);
    });

    it.each([0, -0.1])(
      'refuses volume %p with a final retcode (INVALID_VOLUME or another) and opens nothing',
      async (volume) => {
        const result = expectOk(await gateway.openPosition(order({ volume })));
        expect(classifyRetcode(result.retcode)).toBe('final');
        expect(expectOk(await gateway.positions())).toHaveLength(0);
      },
    );

    it('reports a finite equity equal to balance plus the open profit', async () => {
      expectOk(await gateway.openPosition(order()));
      expectOk(await gateway.openPosition(order({ type: 'sell', volume: 0.2 })));
      const account = expectOk(await gateway.account());
      const positions = expectOk(await gateway.positions());
      expect(Number.isFinite(account.equity)).toBe(true);
      expect(Number.isFinite(account.balance)).toBe(true);
      const profit = positions.reduce((sum, p) => sum + p.profit, 0);
      // Each figure is rounded to cents on its own, so allow a cent per term.
      expect(Math.abs(account.equity - (account.balance + profit))).toBeLessThanOrEqual(
        0.01 * (positions.length + 1) + 1e-9,
      );
    });
  });
}
