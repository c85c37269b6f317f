import { Retcode } from '../broker/retcodes';
import { PaperAccount, parsePaperAccountSnapshot, type PaperAccountSnapshot } from './paper-account';
import { newAccount, T0 } from './paper-test-helpers';

const OPTIONS = { balance: 10_000, symbols: ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'], seed: 42 };
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('PaperAccount deal history', () => {
  it('records an in deal for an open and an out deal for each partial and full close, as the trades answered', () => {
    const account = newAccount();
    const opened = account.open(
      { request_id: 'o-1', symbol: 'XAUUSD', type: 'sell', volume: 0.5, magic: 19019, comment: 'o-1' },
      T0,
    );
    account.applyPriceShock('XAUUSD', -1, T0 + 5_000);
    const part = account.close({ request_id: 'c-1', ticket: opened.position, volume: 0.2 }, T0 + 5_000);
    const cents = (usd: number) => Math.round(usd * 100) / 100;
    const partProfit = cents(account.account(T0 + 5_000).balance - 10_000);
    const rest = account.close({ request_id: 'c-2', ticket: opened.position }, T0 + 9_000);
    const restProfit = cents(account.account(T0 + 9_000).balance - 10_000 - partProfit);

    const common = {
      position: opened.position,
      symbol: 'XAUUSD',
      reason: 'expert',
      magic: 19019,
      comment: 'o-1',
    };
    expect(account.deals(opened.position, T0 + 9_000)).toEqual([
      {
        ...common,
        ticket: opened.deal,
        order: opened.order,
        type: 'sell',
        entry: 'in',
        volume: 0.5,
        price: opened.price,
        profit: 0,
        time: new Date(T0).toISOString(),
      },
      {
        ...common,
        ticket: part.deal,
        order: part.order,
        type: 'buy', // closing a sell is a buy deal
        entry: 'out',
        volume: 0.2,
        price: part.price,
        profit: partProfit,
        time: new Date(T0 + 5_000).toISOString(),
      },
      {
        ...common,
        ticket: rest.deal,
        order: rest.order,
        type: 'buy',
        entry: 'out',
        volume: 0.3,
        price: rest.price,
        profit: restProfit,
        time: new Date(T0 + 9_000).toISOString(),
      },
    ]);
    expect(partProfit).toBeGreaterThan(0);
  });

  it('has no deals for a position it never had, nor for refused trades', () => {
    const account = newAccount();
    expect(account.deals(424_242, T0)).toEqual([]);
    expect(
      account.open({ request_id: 'o-bad', symbol: 'EURUSD', type: 'buy', volume: 0.015 }, T0).retcode,
    ).toBe(Retcode.INVALID_VOLUME);
    expect(account.close({ request_id: 'c-none', ticket: 100_001 }, T0).retcode).toBe(
      Retcode.POSITION_CLOSED,
    );
    expect(account.deals(0, T0)).toEqual([]);
    expect(account.deals(100_001, T0)).toEqual([]);
    expect(account.snapshot().deals).toEqual([]);
  });

  it('keeps only the newest deals beyond its cap, oldest first', () => {
    const account = newAccount({ dealHistoryMaxEntries: 3 });
    const a = account.open({ request_id: 'o-a', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    const b = account.open({ request_id: 'o-b', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    account.close({ request_id: 'c-a', ticket: a.position }, T0);
    account.close({ request_id: 'c-b', ticket: b.position }, T0);
    expect(account.deals(a.position, T0).map((d) => d.entry)).toEqual(['out']); // its in deal was the oldest
    expect(account.deals(b.position, T0).map((d) => d.entry)).toEqual(['in', 'out']);
    expect(account.snapshot().deals.map((d) => d.ticket)).toEqual([b.deal, b.deal + 1, b.deal + 2]);
  });

  it('hands out copies', () => {
    const account = newAccount();
    const { position } = account.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    account.deals(position, T0)[0].price = 0;
    account.snapshot().deals[0].profit = 99;
    expect(account.deals(position, T0)[0]).toMatchObject({ price: 1.08505, profit: 0 });
  });

  it('survives a snapshot and restore, stop closes included', () => {
    const account = newAccount();
    const { bid } = account.quote('EURUSD', T0)!;
    const stopped = account.open(
      {
        request_id: 'o-1',
        symbol: 'EURUSD',
        type: 'buy',
        volume: 0.1,
        sl: Math.round((bid - 0.001) * 1e5) / 1e5,
      },
      T0,
    );
    const kept = account.open({ request_id: 'o-2', symbol: 'USDJPY', type: 'sell', volume: 0.1 }, T0);
    account.applyPriceShock('EURUSD', -1, T0);
    const restored = PaperAccount.restore(viaJson(account.snapshot()), OPTIONS);
    expect(restored.snapshot()).toEqual(account.snapshot());
    for (const ticket of [stopped.position, kept.position])
      expect(restored.deals(ticket, T0)).toEqual(account.deals(ticket, T0));
    expect(restored.deals(stopped.position, T0).map((d) => d.reason)).toEqual(['expert', 'sl']);
  });

  it('reads a snapshot written before the deal history as an empty history', () => {
    const account = newAccount();
    account.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    const { deals, ...old } = viaJson(account.snapshot());
    expect(deals).toHaveLength(1);
    expect(parsePaperAccountSnapshot(old).deals).toEqual([]);
    const restored = PaperAccount.restore(old as PaperAccountSnapshot, OPTIONS);
    expect(restored.deals(100_001, T0)).toEqual([]);
    expect(restored.positions(T0)).toEqual(account.positions(T0));
  });

  it.each([
    [{ ticket: 1 }, 'deals[0].type must be buy or sell'],
    [{ type: 'buy', entry: 'inout' }, 'deals[0].entry must be in or out'],
    [{ type: 'buy', entry: 'in', reason: 'robot' }, 'deals[0].reason must be one of'],
    [{ type: 'buy', entry: 'in', reason: 'sl', ticket: 'x' }, 'deals[0].ticket must be a finite number'],
  ])('refuses a malformed deal in a snapshot %#, naming the field', (deal, message) => {
    const snapshot = { ...viaJson(newAccount().snapshot()), deals: [deal] };
    expect(() => parsePaperAccountSnapshot(snapshot)).toThrow(message);
  });
});
