import { ManualClock, PaperAccount, Retcode, type PaperChange } from '@app/core';
import { PaperBrokerGateway, type PaperAccountPersistence } from './paper-broker-gateway';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const OPTIONS = { balance: 10_000, symbols: ['EURUSD', 'USDJPY'], seed: 42 };

/** Records changes in call order; a record can be held open or made to fail. */
class FakePersistence implements PaperAccountPersistence {
  /** Every change passed to `record`, in call order, whether it then succeeded or not. */
  calls: PaperChange[] = [];
  /** The changes that were made durable, in completion order. */
  saved: PaperChange[] = [];
  failNext = 0;
  hold?: Promise<void>;
  closed = 0;

  async record(change: PaperChange): Promise<void> {
    const copy = JSON.parse(JSON.stringify(change)) as PaperChange;
    this.calls.push(copy);
    const fails = this.failNext > 0;
    if (fails) this.failNext -= 1;
    if (this.hold) await this.hold;
    if (fails) throw new Error('disk full');
    this.saved.push(copy);
  }

  async close(): Promise<void> {
    this.closed += 1;
  }
}

function setup(persistence?: PaperAccountPersistence) {
  const clock = new ManualClock(T0);
  const account = new PaperAccount(OPTIONS);
  return { clock, account, gateway: new PaperBrokerGateway(account, clock, persistence) };
}

describe('PaperBrokerGateway', () => {
  it('reports health, account and positions at the clock time', async () => {
    const { gateway, clock } = setup();
    expect(await gateway.health()).toEqual({ ok: true, value: { connected: true } });
    await gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 1 });
    expect(await gateway.account()).toEqual({
      ok: true,
      value: {
        login: 1001,
        currency: 'USD',
        balance: 10_000,
        equity: 9990,
        margin: 1085.05,
        margin_free: 8904.95,
        server_time: '2026-11-24T10:00:00.000Z',
      },
    });
    clock.advance(5_000);
    const positions = await gateway.positions();
    expect(positions.ok && positions.value[0]?.time).toBe('2026-11-24T10:00:00.000Z');
    expect(await gateway.account()).toMatchObject({
      ok: true,
      value: { server_time: '2026-11-24T10:00:05.000Z' },
    });
  });

  it('returns failed trades as ok results carrying the retcode', async () => {
    const { gateway } = setup();
    expect(
      await gateway.openPosition({ request_id: 'o-bad', symbol: 'EURUSD', type: 'buy', volume: Number.NaN }),
    ).toMatchObject({
      ok: true,
      value: { retcode: Retcode.INVALID_VOLUME },
    });
    expect(await gateway.closePosition({ request_id: 'c-none', ticket: 9 })).toMatchObject({
      ok: true,
      value: { retcode: Retcode.POSITION_CLOSED },
    });
  });

  it('records the fill durably before it answers', async () => {
    const persistence = new FakePersistence();
    let release: () => void = () => undefined;
    persistence.hold = new Promise<void>((resolve) => (release = resolve));
    const { gateway } = setup(persistence);
    let answered = false;
    const pending = gateway
      .openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 })
      .then((r) => {
        answered = true;
        return r;
      });
    await new Promise((resolve) => setImmediate(resolve));
    expect(persistence.calls).toHaveLength(1);
    expect(answered).toBe(false);
    release();
    const result = await pending;
    expect(result).toMatchObject({ ok: true, value: { retcode: Retcode.DONE, position: 100_001 } });
    expect(persistence.saved).toEqual([
      expect.objectContaining({
        request: expect.objectContaining({ requestId: 'o-1' }),
        ticket: 100_001,
        position: expect.objectContaining({ ticket: 100_001, symbol: 'EURUSD', volume: 0.1 }),
        nextOrder: 100_002,
      }),
    ]);
  });

  it('records a newly stored failure and a close, but not a repeat or a read', async () => {
    const persistence = new FakePersistence();
    const { gateway } = setup(persistence);
    await gateway.openPosition({ request_id: 'o-bad', symbol: 'EURUSD', type: 'buy', volume: 0 });
    expect(persistence.saved).toHaveLength(1);
    await gateway.openPosition({ request_id: 'o-bad', symbol: 'EURUSD', type: 'buy', volume: 0 });
    await gateway.account();
    await gateway.positions();
    expect(persistence.saved).toHaveLength(1);
    await gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    await gateway.closePosition({ request_id: 'c-1', ticket: 100_001 });
    expect(persistence.saved.map((c) => c.request?.requestId)).toEqual(['o-bad', 'o-1', 'c-1']);
    expect(persistence.saved[2]).toMatchObject({ ticket: 100_001, position: null });
  });

  it('answers unknown_outcome when recording fails, and the retry with the same id records again without trading again', async () => {
    const persistence = new FakePersistence();
    persistence.failNext = 1;
    const { gateway, account } = setup(persistence);
    const request = { request_id: 'o-1', symbol: 'EURUSD', type: 'buy' as const, volume: 0.1 };
    const first = await gateway.openPosition(request);
    expect(first.ok).toBe(false);
    expect(!first.ok && first.error).toMatchObject({ kind: 'unknown_outcome', code: 'persist_failed' });
    expect(!first.ok && first.error.message).toContain('DONE for request o-1 (position 100001)');
    expect(!first.ok && first.error.message).toContain('disk full');
    expect(persistence.saved).toHaveLength(0);

    const retry = await gateway.openPosition(request);
    expect(retry).toMatchObject({ ok: true, value: { retcode: Retcode.DONE, position: 100_001 } });
    expect(persistence.saved).toMatchObject([
      { request: { requestId: 'o-1' }, position: { ticket: 100_001 } },
    ]);
    expect(account.positions(T0)).toHaveLength(1);
  });

  it('records a failed change again with the next trade, whatever its id, so the journal never misses it', async () => {
    const persistence = new FakePersistence();
    persistence.failNext = 1;
    const { gateway } = setup(persistence);
    expect(
      (await gateway.openPosition({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 })).ok,
    ).toBe(false);
    expect(
      await gateway.openPosition({ request_id: 'o-2', symbol: 'USDJPY', type: 'buy', volume: 0.1 }),
    ).toMatchObject({ ok: true });
    expect(persistence.saved.map((c) => c.request?.requestId).sort()).toEqual(['o-1', 'o-2']);
    // The retry is the same change as the failed record (number and totals of its moment); the
    // replay orders by number, so the order the records land in does not matter.
    expect(persistence.calls.map((c) => c.number)).toEqual([1, 1, 2]);
    expect(persistence.calls[1]).toEqual(persistence.calls[0]);
    expect(persistence.saved.map((c) => [c.number, c.nextOrder])).toEqual([
      [1, 100_002],
      [2, 100_003],
    ]);
    await gateway.openPosition({ request_id: 'o-3', symbol: 'USDJPY', type: 'buy', volume: 0.1 });
    expect(persistence.saved.map((c) => c.request?.requestId)).toHaveLength(3);
  });

  it('answers unknown_outcome for a trade recorded after an earlier trade whose record then failed', async () => {
    const persistence = new FakePersistence();
    let release: () => void = () => undefined;
    persistence.hold = new Promise<void>((resolve) => (release = resolve));
    persistence.failNext = 1;
    const { gateway } = setup(persistence);
    const a = gateway.openPosition({ request_id: 'o-a', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    const b = gateway.openPosition({ request_id: 'o-b', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    release();
    // b's own record succeeded, but its totals count a, which is not on disk: b is not yet safe either.
    expect(await a).toMatchObject({ ok: false, error: { code: 'persist_failed' } });
    expect(await b).toMatchObject({
      ok: false,
      error: { code: 'persist_failed', message: expect.stringContaining('earlier') },
    });
    persistence.hold = undefined;
    expect(
      await gateway.openPosition({ request_id: 'o-b', symbol: 'EURUSD', type: 'buy', volume: 0.1 }),
    ).toMatchObject({ ok: true, value: { position: 100_002 } });
    expect(persistence.saved.map((c) => c.request?.requestId)).toEqual(['o-b', 'o-a']);
  });

  it('issues concurrent records at once, in trade order, without waiting for each other', async () => {
    const persistence = new FakePersistence();
    let release: () => void = () => undefined;
    persistence.hold = new Promise<void>((resolve) => (release = resolve));
    const { gateway } = setup(persistence);
    const pending = [1, 2, 3, 4, 5].map((i) =>
      gateway.openPosition({ request_id: `o-${i}`, symbol: 'USDJPY', type: 'buy', volume: 0.01 }),
    );
    expect(persistence.calls.map((c) => c.request?.requestId)).toEqual(['o-1', 'o-2', 'o-3', 'o-4', 'o-5']);
    expect(persistence.calls.map((c) => c.position?.ticket)).toEqual([
      100_001, 100_002, 100_003, 100_004, 100_005,
    ]);
    release();
    const results = await Promise.all(pending);
    expect(results.every((r) => r.ok && r.value.retcode === Retcode.DONE)).toBe(true);
  });

  it('closes its persistence on close', async () => {
    const persistence = new FakePersistence();
    const { gateway } = setup(persistence);
    await gateway.close();
    expect(persistence.closed).toBe(1);
    await expect(setup().gateway.close()).resolves.toBeUndefined();
  });

  describe('automatic closes (stop loss, take profit, stop-out)', () => {
    /** The lowest EURUSD bid of the next 10 minutes and its second, from a twin account with the same seed. */
    function lowestBidAhead(): { bid: number; at: number } {
      const twin = new PaperAccount(OPTIONS);
      twin.quote('EURUSD', T0); // anchors its walks where the gateway's account anchors them
      const bids = Array.from({ length: 600 }, (_, k) => twin.quote('EURUSD', T0 + (k + 1) * 1000)!.bid);
      const bid = Math.min(...bids);
      return { bid, at: T0 + (bids.indexOf(bid) + 1) * 1000 };
    }

    /** Opens a buy whose SL a -1 % shock crosses; the shock is applied to the account, as an operator would. */
    async function buyThenCrossItsStop(gateway: PaperBrokerGateway, account: PaperAccount) {
      const { bid } = account.quote('EURUSD', T0)!;
      const sl = Math.round((bid - 0.001) * 1e5) / 1e5;
      const opened = await gateway.openPosition({
        request_id: 'o-1',
        symbol: 'EURUSD',
        type: 'buy',
        volume: 0.1,
        sl,
      });
      account.applyPriceShock('EURUSD', -1);
      return { ticket: opened.ok ? opened.value.position : 0, sl };
    }

    it('records the close a read made while the walk caught up, before answering, as a change without a request', async () => {
      const { bid: sl, at } = lowestBidAhead();
      const persistence = new FakePersistence();
      const { gateway, account, clock } = setup(persistence);
      const opened = await gateway.openPosition({
        request_id: 'o-1',
        symbol: 'EURUSD',
        type: 'buy',
        volume: 0.1,
        sl,
      });
      const ticket = opened.ok ? opened.value.position : 0;
      clock.advance(600_000);
      let answered = false;
      let release: () => void = () => undefined;
      persistence.hold = new Promise<void>((resolve) => (release = resolve));
      const read = gateway.positions().then((r) => {
        answered = true;
        return r;
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(answered).toBe(false);
      release();
      expect(await read).toEqual({ ok: true, value: [] });
      expect(persistence.saved).toHaveLength(2);
      expect(persistence.saved[1]).toMatchObject({
        request: null,
        ticket,
        position: null,
        balance: account.snapshot().balance,
        deals: [
          { position: ticket, entry: 'out', reason: 'sl', price: sl, time: new Date(at).toISOString() },
        ],
      });
      // Recorded once: the next calls have nothing new to save.
      await gateway.account();
      await gateway.health();
      expect(persistence.saved).toHaveLength(2);
    });

    it('answers a read whose close could not be saved, and records the close again with the next call', async () => {
      const persistence = new FakePersistence();
      const { gateway, account } = setup(persistence);
      const { ticket } = await buyThenCrossItsStop(gateway, account);
      persistence.failNext = 1;
      expect(await gateway.account()).toMatchObject({ ok: true, value: { margin: 0 } });
      expect(persistence.calls).toHaveLength(2);
      expect(persistence.saved).toHaveLength(1);

      expect(await gateway.health()).toEqual({ ok: true, value: { connected: true } });
      expect(persistence.saved).toHaveLength(2);
      expect(persistence.saved[1]).toMatchObject({ request: null, ticket, position: null });
      await gateway.positions();
      expect(persistence.saved).toHaveLength(2);
    });

    it('answers a trade unknown_outcome while an earlier close is unsaved, and ok once its retry saved both', async () => {
      const persistence = new FakePersistence();
      const { gateway, account } = setup(persistence);
      const start = account.snapshot();
      const { ticket } = await buyThenCrossItsStop(gateway, account);
      persistence.failNext = 2; // the read's record of the close, then its retry with the trade
      expect((await gateway.positions()).ok).toBe(true);
      const request = { request_id: 'o-2', symbol: 'USDJPY', type: 'buy' as const, volume: 0.1 };
      expect(await gateway.openPosition(request)).toMatchObject({
        ok: false,
        error: {
          kind: 'unknown_outcome',
          code: 'persist_failed',
          message: expect.stringContaining('disk full'),
        },
      });
      expect(await gateway.openPosition(request)).toMatchObject({
        ok: true,
        value: { retcode: Retcode.DONE },
      });
      const saved = persistence.saved.map((c) => c.request?.requestId ?? `close ${c.ticket}`);
      expect(saved.filter((what) => what === `close ${ticket}`)).toHaveLength(1);
      expect(saved).toContain('o-2');
      // Saved out of order (o-2 before the close), each as of its own moment: replayed by number,
      // they give the live account.
      expect(persistence.saved.map((c) => c.number)).toEqual([1, 3, 2]);
      const replayed = PaperAccount.restore(start, OPTIONS);
      for (const change of [...persistence.saved].sort((a, b) => a.number! - b.number!))
        replayed.applyChange(change);
      expect({ ...replayed.snapshot(), walks: {} }).toEqual({ ...account.snapshot(), walks: {} });
      expect(account.positions(T0)).toHaveLength(1);
    });

    it('records the close a trade made while the walk caught up to it, before the trade itself', async () => {
      const { bid: sl, at } = lowestBidAhead();
      const persistence = new FakePersistence();
      const { gateway, clock } = setup(persistence);
      const opened = await gateway.openPosition({
        request_id: 'o-1',
        symbol: 'EURUSD',
        type: 'buy',
        volume: 0.1,
        sl,
      });
      const ticket = opened.ok ? opened.value.position : 0;
      clock.advance(600_000);
      await gateway.openPosition({ request_id: 'o-2', symbol: 'USDJPY', type: 'buy', volume: 0.1 });
      expect(persistence.calls.map((c) => c.request?.requestId ?? `close ${c.ticket}`)).toEqual([
        'o-1',
        `close ${ticket}`,
        'o-2',
      ]);
      expect(persistence.calls[1].deals).toMatchObject([
        { reason: 'sl', price: sl, time: new Date(at).toISOString() },
      ]);
    });

    it('lists the deals of a position, and none for an unknown one', async () => {
      const { gateway, account } = setup();
      const { ticket, sl } = await buyThenCrossItsStop(gateway, account);
      const deals = await gateway.deals(ticket);
      expect(deals.ok && deals.value.map((d) => [d.entry, d.reason, d.price])).toEqual([
        ['in', 'expert', 1.08505],
        ['out', 'sl', sl],
      ]);
      expect(await gateway.deals(999_999)).toEqual({ ok: true, value: [] });
      // Without persistence the queued closes are taken and dropped, so nothing piles up.
      expect(account.takeAutomaticCloses()).toEqual([]);
    });
  });

  it('works without persistence', async () => {
    const { gateway } = setup();
    expect(
      await gateway.openPosition({ request_id: 'o-1', symbol: 'USDJPY', type: 'sell', volume: 0.1 }),
    ).toMatchObject({
      ok: true,
      value: { retcode: Retcode.DONE, price: 149.995 },
    });
  });
});
