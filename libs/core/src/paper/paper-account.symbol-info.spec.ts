import { newAccount, T0 } from './paper-test-helpers';

// At T0 every walk sits at its start price: EURUSD 1.08495/1.08505, USDJPY 149.995/150.005, XAUUSD 1999.85/2000.15.
describe('PaperAccount symbol info (what order sizing reads)', () => {
  it('describes a USD-quoted pair: a 0.00001 tick of 100,000 units is worth 1 USD a lot', () => {
    expect(newAccount().symbolInfo('EURUSD', T0)).toEqual({
      symbol: 'EURUSD',
      digits: 5,
      contract_size: 100_000,
      tick_size: 0.00001,
      tick_value: 1,
      volume_min: 0.01,
      volume_max: 100,
      volume_step: 0.01,
      bid: 1.08495,
      ask: 1.08505,
    });
  });

  it('values a tick of gold (100 oz, 0.01) at 1 USD a lot', () => {
    expect(newAccount().symbolInfo('XAUUSD', T0)).toMatchObject({
      contract_size: 100,
      tick_size: 0.01,
      tick_value: 1,
    });
  });

  it('converts a JPY tick into USD at the current price, as a USD account reports it', () => {
    const info = newAccount().symbolInfo('USDJPY', T0);
    // 100,000 * 0.001 JPY = 100 JPY, at 150 JPY a dollar.
    expect(info?.tick_value).toBeCloseTo(100 / 150, 6);
    expect(info?.tick_size).toBe(0.001);
  });

  it('knows nothing of a symbol it does not quote', () => {
    expect(newAccount().symbolInfo('NOSUCH', T0)).toBeUndefined();
  });
});
