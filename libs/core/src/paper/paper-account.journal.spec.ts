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

  it('numbers the changes, and a replay of changes 1..k ends at the live account right after change k', () => {
    const live = newAccount();
    const start = viaJson(live.snapshot());
    expect(start.lastChange).toBe(0);
    const changes: PaperChange[] = [];
    const after: PaperAccountSnapshot[] = [];
    const trade = (requestId: string) => {
      changes.push(viaJson(live.changeFor(requestId)!));
      after.push(viaJson(live.snapshot()));
    };
    live.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    trade('o-1');
    live.open({ request_id: 'o-2', symbol: 'EURUSD', type: 'sell', volume: 0.2 }, T0 + 1_000);
    trade('o-2');
    live.close({ request_id: 'c-2', ticket: 100_002 }, T0 + 2_000);
    trade('c-2');
    live.open({ request_id: 'o-bad', symbol: 'EURUSD', type: 'buy', volume: 0 }, T0 + 3_000);
    trade('o-bad'); // a stored refusal is a change too
    expect(changes.map((c) => c.number)).toEqual([1, 2, 3, 4]);
    expect(after.map((s) => s.lastChange)).toEqual([1, 2, 3, 4]);

    for (let k = 0; k <= changes.length; k++) {
      const restored = PaperAccount.restore(start, OPTIONS);
      for (const change of changes.slice(0, k)) restored.applyChange(change);
      expect(restored.snapshot()).toEqual(k === 0 ? start : after[k - 1]);
      expect(restored.lastChange).toBe(k);
    }
  });

  it('gives a trade its change only while it is the newest change, and a repeat none of its own', () => {
    const live = newAccount();
    live.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    expect(live.changeFor('o-1')).toMatchObject({ number: 1 });
    // A repeat stores nothing: the same change, same number, while nothing else happened.
    live.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    expect(live.changeFor('o-1')).toMatchObject({ number: 1 });
    live.open({ request_id: 'o-2', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    expect(live.changeFor('o-1')).toBeUndefined(); // its totals would now be o-2's
    expect(live.changeFor('o-2')).toMatchObject({ number: 2, nextOrder: 100_003 });
    expect(live.open({ request_id: '', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0).retcode).toBe(
      Retcode.INVALID,
    );
    expect(live.lastChange).toBe(2);
  });

  it('refuses to apply a change that is not the next one (a gap or a repeat), and takes one without a number as the next', () => {
    const live = newAccount();
    const start = viaJson(live.snapshot());
    const changes = ['o-1', 'o-2', 'o-3'].map((id) => {
      live.open({ request_id: id, symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
      return viaJson(live.changeFor(id)!);
    });
    const restored = PaperAccount.restore(start, OPTIONS);
    expect(() => restored.applyChange(changes[1])).toThrow('paper change 2 is not the next change (1)');
    restored.applyChange(changes[0]);
    expect(() => restored.applyChange(changes[0])).toThrow('paper change 1 is not the next change (2)');
    const { number, ...old } = changes[1];
    expect(number).toBe(2);
    restored.applyChange(old);
    restored.applyChange(changes[2]);
    expect(restored.snapshot()).toEqual(live.snapshot());
  });

  it('carries the price walks, so a shock before a trade survives the replay', () => {
    const live = newAccount();
    const start = viaJson(live.snapshot()); // walks not even anchored yet
    live.open({ request_id: 'o-1', symbol: 'XAUUSD', type: 'buy', volume: 0.1 }, T0);
    const first = viaJson(live.changeFor('o-1')!);
    live.applyPriceShock('XAUUSD', -4, T0 + 90_000);
    live.open({ request_id: 'o-2', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0 + 95_000);
    const restored = PaperAccount.restore(start, OPTIONS);
    for (const change of [first, viaJson(live.changeFor('o-2')!)]) restored.applyChange(change);
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
    [{ number: 0, ticket: 0, position: null, request: null }, 'paper change: number must be positive'],
    [{ number: 1.5, ticket: 0, position: null, request: null }, 'paper change: number must be an integer'],
  ])('refuses a malformed change %#, naming the field', (value, message) => {
    expect(() => parsePaperChange(value)).toThrow(message);
  });
});

describe('PaperAccount journal changes of automatic closes (takeAutomaticCloses)', () => {
  /** What the gateway records after a call: the closes the call made, then the trade's own change. */
  function changesAfter(account: PaperAccount, requestId?: string): PaperChange[] {
    const closes = account.takeAutomaticCloses().map(viaJson);
    const trade = requestId === undefined ? undefined : account.changeFor(requestId);
    return trade === undefined ? closes : [...closes, viaJson(trade)];
  }

  it('replaying trades and automatic closes in the order they happened rebuilds the live account, deals included', () => {
    const live = newAccount();
    const start = viaJson(live.snapshot());
    const changes: PaperChange[] = [];
    const { bid, ask } = live.quote('EURUSD', T0)!;
    live.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.5, sl: bid - 0.0005 }, T0);
    changes.push(...changesAfter(live, 'o-1'));
    live.open(
      { request_id: 'o-2', symbol: 'EURUSD', type: 'sell', volume: 0.5, tp: ask - 0.0005 },
      T0 + 1_000,
    );
    changes.push(...changesAfter(live, 'o-2'));
    live.open({ request_id: 'o-3', symbol: 'XAUUSD', type: 'buy', volume: 1.5 }, T0 + 2_000);
    changes.push(...changesAfter(live, 'o-3'));
    live.applyPriceShock('EURUSD', -1, T0 + 3_000); // the SL of o-1 and the TP of o-2
    live.applyPriceShock('XAUUSD', -3, T0 + 3_000); // a stop-out of o-3
    live.account(T0 + 60_000);
    changes.push(...changesAfter(live));
    live.open({ request_id: 'o-4', symbol: 'GBPUSD', type: 'buy', volume: 0.1 }, T0 + 61_000);
    changes.push(...changesAfter(live, 'o-4'));

    const reasons = live.snapshot().deals.map((d) => `${d.position}:${d.entry}:${d.reason}`);
    expect(reasons).toEqual([
      '100001:in:expert',
      '100002:in:expert',
      '100003:in:expert',
      '100001:out:sl',
      '100002:out:tp',
      '100003:out:so',
      '100007:in:expert',
    ]);
    expect(changes.filter((c) => c.request === null)).toHaveLength(3);

    const restored = PaperAccount.restore(start, OPTIONS);
    for (const change of changes) restored.applyChange(parsePaperChange(change));
    expect(books(restored)).toEqual(books(live));
    for (const ticket of [100_001, 100_002, 100_003, 100_007])
      expect(restored.deals(ticket, T0 + 61_000)).toEqual(live.deals(ticket, T0 + 61_000));
    expect(restored.account(T0 + 90_000)).toEqual(live.account(T0 + 90_000));
  });

  it('hands each automatic close out once, and describes it as the position gone with its deal', () => {
    const live = newAccount();
    const { bid } = live.quote('EURUSD', T0)!;
    live.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1, sl: bid - 0.0005 }, T0);
    expect(live.takeAutomaticCloses()).toEqual([]);
    live.applyPriceShock('EURUSD', -1, T0);
    const [close, ...more] = live.takeAutomaticCloses();
    expect(more).toEqual([]);
    expect(live.takeAutomaticCloses()).toEqual([]);
    expect(close).toMatchObject({
      number: 2,
      request: null,
      ticket: 100_001,
      position: null,
      balance: live.snapshot().balance,
      nextDeal: 500_003,
      deals: [{ ticket: 500_002, position: 100_001, entry: 'out', reason: 'sl' }],
    });
  });

  it('takes an automatic close as it stood at its moment, so a replay ending at it has none of the later trades', () => {
    const live = newAccount();
    const start = viaJson(live.snapshot());
    const { bid } = live.quote('EURUSD', T0)!;
    live.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1, sl: bid - 0.0005 }, T0);
    const opened = changesAfter(live, 'o-1');
    live.applyPriceShock('EURUSD', -1, T0);
    const atClose = viaJson(live.snapshot());
    live.open({ request_id: 'o-2', symbol: 'USDJPY', type: 'buy', volume: 0.1 }, T0 + 1_000);
    // Taken only now (say its first record failed and this is the retry): still the close's moment.
    const [close, trade] = changesAfter(live, 'o-2');
    expect(close).toMatchObject({ number: 2, nextOrder: 100_003, nextDeal: 500_003 });
    expect(trade).toMatchObject({ number: 3, nextOrder: 100_004 });

    const untilClose = PaperAccount.restore(start, OPTIONS);
    for (const change of [...opened, close]) untilClose.applyChange(change);
    expect(books(untilClose)).toEqual(atClose);
    untilClose.applyChange(trade);
    expect(books(untilClose)).toEqual(books(live));
    expect(books(untilClose).deals.map((d) => d.ticket)).toEqual([500_001, 500_002, 500_003]);
  });

  it('reads a change without deals (journals from before the history) and one without a request', () => {
    const live = newAccount();
    live.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    const { deals, number, ...old } = viaJson(live.changeFor('o-1')!);
    expect(deals).toHaveLength(1);
    expect(number).toBe(1);
    expect(parsePaperChange(old).number).toBeUndefined();
    expect(parsePaperChange(old).deals).toEqual([]);
    expect(parsePaperChange({ ...old, request: null })).toMatchObject({ request: null, ticket: 100_001 });
    const restored = PaperAccount.restore(viaJson(newAccount().snapshot()), OPTIONS);
    restored.applyChange(parsePaperChange(old));
    expect(restored.positions(T0)).toEqual(live.positions(T0));
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
