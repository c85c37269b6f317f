import { Retcode } from '../broker/retcodes';
import { PaperAccount, parsePaperChange, type PaperAccountSnapshot, type PaperChange } from './paper-account';
import { newAccount, T0 } from './paper-test-helpers';

const OPTIONS = { balance: 10_000, symbols: ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'], seed: 42 };
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const books = (account: PaperAccount): PaperAccountSnapshot => account.snapshot();

describe('PaperAccount journal changes (changeFor / applyChange)', () => {
  it('replaying the changes of a sequence of trades onto the starting snapshot rebuilds the live account', () => {
    const live = newAccount();
    live.open({ request_id: 'o-0', symbol: 'EURUSD', type: 'buy', volume: 0.3 }, T0);
    const start = viaJson(live.snapshot());
    const changes: PaperChange[] = [];
    const trade = (requestId: string, result: { retcode: number }) => {
      const change = live.changeFor(requestId);
      expect(change).toBeDefined();
      changes.push(viaJson(change!));
      return result;
    };
    trade(
      'o-1',
      live.open(
        { request_id: 'o-1', symbol: 'XAUUSD', type: 'sell', volume: 0.2, sl: 9_999, comment: 'gold' },
        T0 + 3_000,
      ),
    );
    trade('o-2', live.open({ request_id: 'o-2', symbol: 'USDJPY', type: 'buy', volume: 0.5 }, T0 + 7_000));
    trade('c-1', live.close({ request_id: 'c-1', ticket: 100_003, volume: 0.2 }, T0 + 11_000)); // USDJPY, partial: 0.3 left
    trade('c-2', live.close({ request_id: 'c-2', ticket: 100_001 }, T0 + 20_000)); // the one from before the snapshot
    expect(
      trade(
        'o-bad',
        live.open({ request_id: 'o-bad', symbol: 'EURUSD', type: 'buy', volume: 0.015 }, T0 + 21_000),
      ).retcode,
    ).toBe(Retcode.INVALID_VOLUME);
    expect(trade('c-gone', live.close({ request_id: 'c-gone', ticket: 100_001 }, T0 + 22_000)).retcode).toBe(
      Retcode.POSITION_CLOSED,
    );
    trade('c-3', live.close({ request_id: 'c-3', ticket: 100_002 }, T0 + 30_000)); // XAUUSD, all of it

    const restored = PaperAccount.restore(start, OPTIONS);
    for (const change of changes) restored.applyChange(parsePaperChange(change));

    // Walks included: the replay quotes what the live account quoted at its last trade.
    expect(books(restored)).toEqual(books(live));
    expect(books(restored).positions).toMatchObject([{ ticket: 100_003, symbol: 'USDJPY', volume: 0.3 }]);
    expect(restored.positions(T0 + 30_000)).toEqual(live.positions(T0 + 30_000));
    expect(restored.account(T0 + 30_000)).toEqual(live.account(T0 + 30_000));
    // The rebuilt account goes on numbering where the live one would, and still knows every id.
    const next = { request_id: 'o-3', symbol: 'GBPUSD', type: 'buy' as const, volume: 0.1 };
    expect(restored.open(next, T0 + 31_000)).toEqual(live.open(next, T0 + 31_000));
    expect(restored.close({ request_id: 'c-1', ticket: 100_003 }, T0 + 31_000)).toMatchObject({
      retcode: Retcode.DONE,
      volume: 0.2,
    });
    expect(restored.positions(T0 + 31_000)).toHaveLength(2);
  });

  it('keeps the latest totals when a change recorded again later is applied after an older one', () => {
    const live = newAccount();
    const start = viaJson(live.snapshot());
    live.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    const firstTry = viaJson(live.changeFor('o-1')!); // say this record failed to reach the disk
    live.open({ request_id: 'o-2', symbol: 'EURUSD', type: 'sell', volume: 0.2 }, T0 + 1_000);
    const second = viaJson(live.changeFor('o-2')!);
    live.close({ request_id: 'c-2', ticket: 100_002 }, T0 + 2_000);
    const third = viaJson(live.changeFor('c-2')!);
    const retried = viaJson(live.changeFor('o-1')!); // the retry of o-1 records it again, now

    expect(retried.nextOrder).toBeGreaterThan(firstTry.nextOrder);
    const restored = PaperAccount.restore(start, OPTIONS);
    for (const change of [firstTry, second, third, retried]) restored.applyChange(change);
    expect(books(restored)).toMatchObject({
      balance: live.snapshot().balance,
      nextOrder: 100_004,
      nextDeal: 500_004,
    });
    expect(books(restored).positions).toEqual(live.snapshot().positions);
    expect(new Set(books(restored).requests.map((r) => r.requestId))).toEqual(new Set(['o-1', 'o-2', 'c-2']));
  });

  it('carries the price walks, so a shock before a trade survives the replay', () => {
    const live = newAccount();
    const start = viaJson(live.snapshot()); // walks not even anchored yet
    live.open({ request_id: 'o-1', symbol: 'XAUUSD', type: 'buy', volume: 0.1 }, T0);
    live.applyPriceShock('XAUUSD', -4, T0 + 90_000);
    live.open({ request_id: 'o-2', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0 + 95_000);
    const restored = PaperAccount.restore(start, OPTIONS);
    for (const id of ['o-1', 'o-2']) restored.applyChange(viaJson(live.changeFor(id)!));
    for (const t of [T0 + 95_000, T0 + 400_000]) {
      expect(restored.quote('XAUUSD', t)).toEqual(live.quote('XAUUSD', t));
      expect(restored.account(t)).toEqual(live.account(t));
    }
  });

  it('describes a close as the position gone and an untouched position as none', () => {
    const live = newAccount();
    live.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    expect(live.changeFor('o-1')).toMatchObject({
      ticket: 100_001,
      position: { ticket: 100_001, volume: 0.1 },
      nextOrder: 100_002,
    });
    live.close({ request_id: 'c-1', ticket: 100_001 }, T0);
    expect(live.changeFor('c-1')).toMatchObject({
      ticket: 100_001,
      position: null,
      request: { requestId: 'c-1' },
    });
    live.open({ request_id: 'o-bad', symbol: 'NOPE', type: 'buy', volume: 0.1 }, T0);
    expect(live.changeFor('o-bad')).toMatchObject({ ticket: 0, position: null });
    expect(live.changeFor('never-seen')).toBeUndefined();
  });

  it('keeps at most the configured number of request ids when replaying', () => {
    const live = newAccount({ idempotencyMaxEntries: 2 });
    const start = viaJson(live.snapshot());
    const restored = PaperAccount.restore(start, { ...OPTIONS, idempotencyMaxEntries: 2 });
    for (const id of ['a', 'b', 'c']) {
      live.open({ request_id: id, symbol: 'EURUSD', type: 'buy', volume: 0.01 }, T0);
      restored.applyChange(live.changeFor(id)!);
    }
    expect(books(restored).requests.map((r) => r.requestId)).toEqual(['b', 'c']);
    expect(books(restored)).toEqual(books(live));
  });

  it('refuses a change holding a position on a symbol the account does not quote', () => {
    const live = newAccount();
    live.open({ request_id: 'o-1', symbol: 'XAUUSD', type: 'buy', volume: 0.1 }, T0);
    const narrow = PaperAccount.restore(viaJson(newAccount().snapshot()), {
      ...OPTIONS,
      symbols: ['EURUSD'],
    });
    expect(() => narrow.applyChange(live.changeFor('o-1')!)).toThrow('position 100001 is on unquoted XAUUSD');
  });

  it.each([
    [null, 'paper change: change must be an object'],
    [{ ticket: 1.5 }, 'paper change: ticket must be an integer'],
    [
      {
        ticket: 1,
        position: {
          ticket: 2,
          symbol: 'EURUSD',
          type: 'buy',
          volume: 1,
          priceOpen: 1,
          sl: 0,
          tp: 0,
          magic: 0,
          comment: '',
          openedAt: 0,
        },
      },
      "is not the change's ticket 1",
    ],
    [
      { ticket: 0, position: null, request: { requestId: 'x', at: 0 } },
      'paper change: request.result must be an object',
    ],
  ])('refuses a malformed change %#, naming the field', (value, message) => {
    expect(() => parsePaperChange(value)).toThrow(message);
  });
});

describe('PaperAccount running totals', () => {
  it('keeps margin and floating profit equal to a fresh count through opens, partial closes, closes, steps and a shock', () => {
    const account = newAccount({ balance: 1_000_000 });
    const symbols = ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'];
    let t = T0;
    let n = 0;
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 5; k++) {
        n += 1;
        account.open(
          {
            request_id: `o-${n}`,
            symbol: symbols[n % 4],
            type: n % 3 === 0 ? 'sell' : 'buy',
            volume: 0.01 * (1 + (n % 7)),
          },
          t,
        );
      }
      const open = account.positions(t);
      if (round % 3 === 1)
        account.close({ request_id: `c-${round}`, ticket: open[round % open.length].ticket }, t);
      if (round % 4 === 2) {
        const target = open.find((p) => p.volume >= 0.02);
        if (target) account.close({ request_id: `p-${round}`, ticket: target.ticket, volume: 0.01 }, t);
      }
      if (round === 20) account.applyPriceShock('XAUUSD', -3, t);
      t += round % 2 === 0 ? 400 : 1_700; // some orders share a walk step, some do not

      // A restore sums every position from scratch: the incremental totals must agree with it.
      const fresh = PaperAccount.restore(viaJson(account.snapshot()), OPTIONS);
      expect(account.account(t)).toEqual(fresh.account(t));
      const positions = account.positions(t);
      const floating = positions.reduce((sum, p) => sum + Math.round(p.profit * 100), 0) / 100;
      expect(account.account(t).equity).toBeCloseTo(account.account(t).balance + floating, 2);
    }
  });

  it('reports zero margin once every position is closed', () => {
    const account = newAccount();
    for (const [i, symbol] of ['EURUSD', 'XAUUSD', 'USDJPY'].entries())
      account.open({ request_id: `o-${i}`, symbol, type: 'buy', volume: 0.13 }, T0);
    for (const p of account.positions(T0))
      account.close({ request_id: `c-${p.ticket}`, ticket: p.ticket }, T0 + 1_000);
    expect(account.account(T0 + 1_000)).toMatchObject({ margin: 0 });
    expect(account.account(T0 + 1_000).equity).toBe(account.account(T0 + 1_000).balance);
  });
});
