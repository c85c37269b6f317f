import { Retcode } from '../broker/retcodes';
import { newAccount, order, T0 } from './paper-test-helpers';

// Hand-computed numbers. Prices at T0: EURUSD 1.08495/1.08505, USDJPY 149.995/150.005,
// XAUUSD 1999.85/2000.15. A shock of p % moves the mid; bid = mid - half spread, rounded.
describe('PaperAccount profit and loss', () => {
  it('EURUSD: a buy of 1 lot gains 1,075.00 USD after a +1 % move and the close books it', () => {
    const account = newAccount();
    const { position } = account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 1 }), T0); // at 1.08505
    expect(account.positions(T0)[0]?.profit).toBe(-10); // the spread: 0.00010 * 100,000
    account.applyPriceShock('EURUSD', 1); // mid 1.09585: bid 1.09580, ask 1.09590
    // (1.09580 - 1.08505) * 100,000 * 1 = 1,075.00
    expect(account.positions(T0)).toMatchObject([{ price_current: 1.0958, profit: 1075 }]);
    expect(account.account(T0)).toMatchObject({
      balance: 10_000,
      equity: 11_075,
      margin: 1085.05,
      margin_free: 9989.95,
    });
    expect(account.close({ request_id: 'c-eur', ticket: position }, T0)).toMatchObject({
      retcode: Retcode.DONE,
      price: 1.0958,
    });
    expect(account.account(T0)).toMatchObject({
      balance: 11_075,
      equity: 11_075,
      margin: 0,
      margin_free: 11_075,
    });
  });

  it('EURUSD: a sell of 0.5 lot gains 537.50 USD after a -1 % move', () => {
    const account = newAccount();
    account.open(order({ symbol: 'EURUSD', type: 'sell', volume: 0.5 }), T0); // at 1.08495
    account.applyPriceShock('EURUSD', -1); // mid 1.07415: ask 1.07420
    // (1.08495 - 1.07420) * 100,000 * 0.5 = 537.50
    expect(account.positions(T0)).toMatchObject([{ price_current: 1.0742, profit: 537.5 }]);
  });

  it('USDJPY: profit in JPY is divided by the current price', () => {
    const account = newAccount();
    const buy = account.open(order({ symbol: 'USDJPY', type: 'buy', volume: 0.1 }), T0); // at 150.005
    // Spread: -0.010 * 10,000 = -100 JPY / 149.995 = -0.67 USD
    expect(account.positions(T0)[0]?.profit).toBe(-0.67);
    account.applyPriceShock('USDJPY', 1); // mid 151.5: bid 151.495
    // (151.495 - 150.005) * 10,000 = 14,900 JPY / 151.495 = 98.353... USD
    expect(account.positions(T0)).toMatchObject([{ price_current: 151.495, profit: 98.35 }]);
    // Margin of a USD-based pair: 0.1 * 100,000 USD / 100 = 100 USD.
    expect(account.account(T0)).toMatchObject({ equity: 10_098.35, margin: 100, margin_free: 9998.35 });
    account.close({ request_id: 'c-jpy', ticket: buy.position }, T0);
    expect(account.account(T0).balance).toBe(10_098.35);
  });

  it('USDJPY: a sell of 1 lot gains 2,033.94 USD after a -2 % move', () => {
    const account = newAccount();
    account.open(order({ symbol: 'USDJPY', type: 'sell', volume: 1 }), T0); // at 149.995
    account.applyPriceShock('USDJPY', -2); // mid 147: ask 147.005
    // (149.995 - 147.005) * 100,000 = 299,000 JPY / 147.005 = 2,033.944... USD
    expect(account.positions(T0)).toMatchObject([{ price_current: 147.005, profit: 2033.94 }]);
  });

  it('XAUUSD: 100 oz per lot', () => {
    const account = newAccount();
    const sell = account.open(order({ symbol: 'XAUUSD', type: 'sell', volume: 0.5 }), T0); // at 1999.85
    account.applyPriceShock('XAUUSD', -2); // mid 1960: ask 1960.15
    // (1999.85 - 1960.15) * 100 * 0.5 = 1,985.00
    expect(account.positions(T0)).toMatchObject([{ price_current: 1960.15, profit: 1985 }]);
    expect(account.close({ request_id: 'c-xau', ticket: sell.position }, T0)).toMatchObject({
      price: 1960.15,
    });
    expect(account.account(T0).balance).toBe(11_985);

    const buy = account.open(order({ symbol: 'XAUUSD', type: 'buy', volume: 1 }), T0); // at 1960.15
    // Spread 0.30 * 100 = -30; margin 1 * 100 * 1960.15 / 100 = 1,960.15
    expect(account.account(T0)).toMatchObject({ equity: 11_955, margin: 1960.15 });
    account.close({ request_id: 'c-xau-2', ticket: buy.position }, T0);
    expect(account.account(T0).balance).toBe(11_955);
  });

  it('a loss lowers equity and, once closed, the balance', () => {
    const account = newAccount();
    const { position } = account.open(order({ symbol: 'GBPUSD', type: 'buy', volume: 2 }), T0); // at 1.27007
    account.applyPriceShock('GBPUSD', -2); // mid 1.2446: bid 1.24453
    // (1.24453 - 1.27007) * 100,000 * 2 = -5,108.00
    expect(account.account(T0)).toMatchObject({ equity: 4892, margin: 2540.14 });
    account.close({ request_id: 'c-gbp', ticket: position }, T0);
    expect(account.account(T0)).toMatchObject({ balance: 4892, equity: 4892 });
  });

  it('sums several positions into equity and margin', () => {
    const account = newAccount();
    account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 1 }), T0); // -10.00, margin 1,085.05
    account.open(order({ symbol: 'USDJPY', type: 'buy', volume: 0.1 }), T0); // -0.67, margin 100.00
    expect(account.account(T0)).toEqual({
      login: 1001,
      currency: 'USD',
      balance: 10_000,
      equity: 9989.33,
      margin: 1185.05,
      margin_free: 8804.28,
      server_time: '2026-11-24T10:00:00.000Z',
    });
  });

  it('a cross pair converts with the approximate fixed rate (EURJPY: 150 JPY per USD)', () => {
    const account = newAccount({ symbols: ['EURJPY'] });
    account.open(order({ symbol: 'EURJPY', type: 'buy', volume: 1 }), T0); // 161.990 / 162.010
    // -0.020 * 100,000 = -2,000 JPY / 150 = -13.33 USD; margin 100,000 * 162.010 / 100 JPY / 150 = 1,080.07 USD
    expect(account.account(T0)).toMatchObject({ equity: 9986.67, margin: 1080.07 });
  });

  it('prices move with time, and equity follows them', () => {
    const account = newAccount();
    account.open(order({ symbol: 'EURUSD', type: 'buy', volume: 1 }), T0);
    const later = account.positions(T0 + 600_000)[0];
    const { bid } = account.quote('EURUSD', T0 + 600_000)!;
    expect(later.price_current).toBe(bid);
    expect(bid).not.toBe(1.08495);
    expect(later.profit).toBeCloseTo((bid - 1.08505) * 100_000, 6);
    expect(account.account(T0 + 600_000).equity).toBeCloseTo(10_000 + later.profit, 6);
  });
});
