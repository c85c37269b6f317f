import { instrumentSpec, profitToUsd, resolveInstruments, roundTo } from './instruments';

describe('instrument specs', () => {
  it('has hand-picked specs for the four default symbols', () => {
    expect(instrumentSpec('EURUSD')).toMatchObject({
      contractSize: 100_000,
      digits: 5,
      startPrice: 1.085,
      volumeMin: 0.01,
      volumeStep: 0.01,
      volumeMax: 100,
    });
    expect(instrumentSpec('USDJPY')).toMatchObject({
      base: 'USD',
      quote: 'JPY',
      contractSize: 100_000,
      digits: 3,
      startPrice: 150,
    });
    expect(instrumentSpec('XAUUSD')).toMatchObject({
      base: 'XAU',
      quote: 'USD',
      contractSize: 100,
      digits: 2,
      startPrice: 2000,
    });
    expect(instrumentSpec('GBPUSD')).toMatchObject({ digits: 5, startPrice: 1.27 });
  });

  it('derives other FX pairs from approximate currency values', () => {
    expect(instrumentSpec('AUDUSD')).toMatchObject({
      base: 'AUD',
      quote: 'USD',
      digits: 5,
      startPrice: 0.66,
      contractSize: 100_000,
    });
    expect(instrumentSpec('USDCHF')).toMatchObject({ digits: 5, startPrice: 0.89286 });
    expect(instrumentSpec('EURJPY')).toMatchObject({ digits: 3, startPrice: 162 });
  });

  it.each(['XAGUSD', 'EURUSD.pro', 'EUR', 'eurusd', 'USDUSD', 'ABCDEF', 'BTCUSD'])(
    'refuses %s with a message naming it',
    (symbol) => {
      expect(() => instrumentSpec(symbol)).toThrow(`cannot quote "${symbol}"`);
    },
  );

  it('refuses an empty or duplicated list', () => {
    expect(() => resolveInstruments([])).toThrow('at least one symbol');
    expect(() => resolveInstruments(['EURUSD', 'EURUSD'])).toThrow('listed twice');
    expect([...resolveInstruments(['EURUSD', 'AUDUSD']).keys()]).toEqual(['EURUSD', 'AUDUSD']);
  });

  it('converts quote-currency profit to USD', () => {
    expect(profitToUsd(instrumentSpec('EURUSD'), 123.45, 1.1)).toBe(123.45);
    expect(profitToUsd(instrumentSpec('USDJPY'), 15_000, 150)).toBe(100);
    // Cross: fixed approximate rate, 150 JPY per USD.
    expect(profitToUsd(instrumentSpec('EURJPY'), 3_000, 170)).toBeCloseTo(20, 10);
    expect(profitToUsd(instrumentSpec('EURGBP'), 100, 0.85)).toBeCloseTo(127, 10);
  });

  it('rounds half away from zero and never returns -0', () => {
    expect(roundTo(1.005 * 1000, 0)).toBe(1005);
    expect(roundTo(-2.5, 0)).toBe(-3);
    expect(roundTo(2.5, 0)).toBe(3);
    expect(Object.is(roundTo(-0.001, 2), 0)).toBe(true);
  });
});
