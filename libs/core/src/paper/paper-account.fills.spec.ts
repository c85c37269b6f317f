import { Retcode } from '../broker/retcodes';
import { newAccount, order, T0 } from './paper-test-helpers';

// At T0 every walk sits at its start price: EURUSD 1.08495/1.08505, USDJPY 149.995/150.005, XAUUSD 1999.85/2000.15.
describe('PaperAccount fills', () => {
  it('buys at ask and stores symbol, volume, stops, magic and the comment cut to 26 characters', () => {
    const account = newAccount();
    const result = account.open(
      order({
        request_id: 'o-1',
        symbol: 'EURUSD',
        type: 'buy',
        volume: 0.3,
        sl: 1.08,
        tp: 1.09,
        magic: 19019,
        comment: 'o-0123456789abcdef0123456789xyz',
      }),
      T0,
    );
    expect(result).toEqual({
      request_id: 'o-1',
      retcode: Retcode.DONE,
      order: 100_001,
      deal: 500_001,
      position: 100_001,
      volume: 0.3,
      price: 1.08505,
      comment: 'Request executed',
    });
    expect(account.positions(T0)).toEqual([
      {
        ticket: 100_001,
        symbol: 'EURUSD',
        type: 'buy',
        volume: 0.3,
        price_open: 1.08505,
        price_current: 1.08495,
        sl: 1.08,
        tp: 1.09,
        profit: -3,
        magic: 19019,
        comment: 'o-0123456789abcdef01234567',
        time: '2026-11-24T10:00:00.000Z',
      },
    ]);
  });

  it('sells at bid and values the position at ask', () => {
    const account = newAccount();
    expect(account.open(order({ symbol: 'XAUUSD', type: 'sell', volume: 0.2 }), T0)).toMatchObject({
      retcode: Retcode.DONE,
      price: 1999.85,
    });
    expect(account.positions(T0)[0]).toMatchObject({
      price_open: 1999.85,
      price_current: 2000.15,
      profit: -6,
      magic: 0,
      comment: '',
      sl: 0,
      tp: 0,
    });
  });

  it('closes a buy at bid and a sell at ask, with new order and deal numbers', () => {
    const account = newAccount();
    const buy = account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 1 }), T0);
    const sell = account.open(order({ symbol: 'USDJPY', type: 'sell', volume: 1 }), T0);
    expect(account.close({ request_id: 'c-1', ticket: buy.position }, T0)).toEqual({
      request_id: 'c-1',
      retcode: Retcode.DONE,
      order: 100_003,
      deal: 500_003,
      position: buy.position,
      volume: 1,
      price: 1.08495,
      comment: 'Request executed',
    });
    expect(account.close({ request_id: 'c-2', ticket: sell.position }, T0)).toMatchObject({
      retcode: Retcode.DONE,
      position: sell.position,
      volume: 1,
      price: 150.005,
    });
    expect(account.positions(T0)).toEqual([]);
  });

  it('closes part of a position and keeps the rest under the same ticket', () => {
    const account = newAccount();
    const { position } = account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 0.5 }), T0);
    expect(account.close({ request_id: 'c-part', ticket: position, volume: 0.2 }, T0)).toMatchObject({
      retcode: Retcode.DONE,
      volume: 0.2,
      price: 1.08495,
    });
    expect(account.positions(T0)).toMatchObject([{ ticket: position, volume: 0.3, profit: -3 }]);
    // The spread on the closed 0.2 lots (0.0001 * 20,000 = 2 USD) is realised.
    expect(account.account(T0).balance).toBe(9998);
  });

  it('answers INVALID for an unknown symbol or side', () => {
    const account = newAccount();
    expect(account.open(order({ symbol: 'AUDUSD', type: 'buy', volume: 0.1 }), T0)).toMatchObject({
      retcode: Retcode.INVALID,
      order: 0,
      deal: 0,
      position: 0,
      volume: 0,
      price: 0,
    });
    expect(account.open(order({ symbol: 'EURUSD', type: 'hold' as 'buy', volume: 0.1 }), T0).retcode).toBe(
      Retcode.INVALID,
    );
    expect(account.positions(T0)).toEqual([]);
  });

  it.each([0, -0.1, 0.005, 0.015, 100.01, Number.NaN, Number.POSITIVE_INFINITY, '0.1' as unknown as number])(
    'answers INVALID_VOLUME for an open of %p lots',
    (volume) => {
      const account = newAccount();
      expect(account.open(order({ symbol: 'EURUSD', type: 'buy', volume }), T0).retcode).toBe(
        Retcode.INVALID_VOLUME,
      );
      expect(account.positions(T0)).toEqual([]);
    },
  );

  it('fills the maximum volume of 100 lots when the margin is there', () => {
    const account = newAccount({ balance: 1_000_000 });
    expect(account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 100 }), T0)).toMatchObject({
      retcode: Retcode.DONE,
      volume: 100,
    });
  });

  it.each([
    ['buy', { sl: 1.08495 }],
    ['buy', { tp: 1.08505 }],
    ['buy', { sl: 1.09 }],
    ['buy', { sl: -1 }],
    ['buy', { tp: Number.NaN }],
    ['sell', { sl: 1.08505 }],
    ['sell', { tp: 1.08495 }],
    ['sell', { tp: 1.09 }],
  ] as const)('answers INVALID_STOPS for a %s with %p', (type, stops) => {
    const account = newAccount();
    expect(account.open(order({ symbol: 'EURUSD', type, volume: 0.1, ...stops }), T0).retcode).toBe(
      Retcode.INVALID_STOPS,
    );
  });

  it.each([
    ['buy', { sl: 1.08494, tp: 1.08506 }],
    ['sell', { sl: 1.08506, tp: 1.08494 }],
    ['buy', { sl: 0, tp: 0 }],
  ] as const)('accepts a %s with %p', (type, stops) => {
    const account = newAccount();
    expect(account.open(order({ symbol: 'EURUSD', type, volume: 0.1, ...stops }), T0).retcode).toBe(
      Retcode.DONE,
    );
  });

  it('answers NO_MONEY when the margin does not fit the free margin', () => {
    const account = newAccount();
    // 10 lots need 10 * 100,000 * 1.08505 / 100 = 10,850.50 USD > 10,000.
    expect(account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 10 }), T0).retcode).toBe(
      Retcode.NO_MONEY,
    );
    // 9 lots need 9,765.45; afterwards free margin is 10,000 - 90 (spread) - 9,765.45 = 144.55 < 542.53 for 0.5 more.
    expect(account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 9 }), T0).retcode).toBe(Retcode.DONE);
    expect(account.account(T0)).toMatchObject({ equity: 9910, margin: 9765.45, margin_free: 144.55 });
    expect(account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 0.5 }), T0).retcode).toBe(
      Retcode.NO_MONEY,
    );
    expect(account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 0.13 }), T0).retcode).toBe(
      Retcode.DONE,
    );
  });

  it('answers POSITION_CLOSED for a ticket that does not exist, and INVALID_VOLUME for too much or a bad step', () => {
    const account = newAccount();
    expect(account.close({ request_id: 'c-none', ticket: 424242 }, T0)).toMatchObject({
      retcode: Retcode.POSITION_CLOSED,
      position: 424242,
      deal: 0,
    });
    const { position } = account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 0.2 }), T0);
    expect(account.close({ request_id: 'c-big', ticket: position, volume: 0.21 }, T0).retcode).toBe(
      Retcode.INVALID_VOLUME,
    );
    expect(account.close({ request_id: 'c-step', ticket: position, volume: 0.015 }, T0).retcode).toBe(
      Retcode.INVALID_VOLUME,
    );
    expect(account.close({ request_id: 'c-nan', ticket: position, volume: Number.NaN }, T0).retcode).toBe(
      Retcode.INVALID_VOLUME,
    );
    expect(account.positions(T0)).toMatchObject([{ ticket: position, volume: 0.2 }]);
    expect(account.close({ request_id: 'c-all', ticket: position, volume: 0.2 }, T0).retcode).toBe(
      Retcode.DONE,
    );
    expect(account.close({ request_id: 'c-again', ticket: position }, T0).retcode).toBe(
      Retcode.POSITION_CLOSED,
    );
  });

  it('throws on a non-finite time: that is a bug in the caller, not an outcome', () => {
    expect(() => newAccount().account(Number.NaN)).toThrow(RangeError);
  });

  it('refuses bad options at construction', () => {
    expect(() => newAccount({ symbols: ['EURUSD', 'BTCUSD'] })).toThrow('cannot quote "BTCUSD"');
    expect(() => newAccount({ balance: 0 })).toThrow(RangeError);
    expect(() => newAccount({ seed: -1 })).toThrow(RangeError);
  });
});
