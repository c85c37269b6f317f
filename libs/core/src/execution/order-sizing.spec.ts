import type { SymbolInfo } from '../broker/broker-types';
import { sizeOrder, type SizingInput } from './order-sizing';

/** Gold: 100 oz a lot, a 0.01 tick worth 1 USD a lot, 0.01 to 50 lots in steps of 0.01. */
const XAUUSD: SymbolInfo = {
  symbol: 'XAUUSD',
  digits: 2,
  contract_size: 100,
  tick_size: 0.01,
  tick_value: 1,
  volume_min: 0.01,
  volume_max: 50,
  volume_step: 0.01,
  bid: 2000,
  ask: 2000.5,
};

const input = (over: Partial<SizingInput>): SizingInput => ({
  sizing: { mode: 'multiplier', value: 1 },
  volume: 0.1,
  side: 'buy',
  sl: undefined,
  maxVolume: 100,
  symbol: XAUUSD,
  equity: 10_000,
  ...over,
});

describe('sizeOrder', () => {
  it('multiplies the signal volume, rounding down to the step', () => {
    expect(sizeOrder(input({ sizing: { mode: 'multiplier', value: 2.5 }, volume: 0.13 }))).toEqual({
      ok: true,
      volume: 0.32, // 0.325 rounds down, never up
    });
  });

  it('keeps an exact multiple exact despite float noise (0.1 x 3 = 0.3, not 0.29)', () => {
    expect(sizeOrder(input({ sizing: { mode: 'multiplier', value: 3 }, volume: 0.1 }))).toEqual({
      ok: true,
      volume: 0.3,
    });
  });

  it('trades a fixed volume whatever the signal says', () => {
    expect(sizeOrder(input({ sizing: { mode: 'fixed', value: 0.7 }, volume: 5 }))).toEqual({
      ok: true,
      volume: 0.7,
    });
  });

  it('sizes risk_percent from the distance to sl, the tick value and the equity', () => {
    // Buy at ask 2000.50, sl 1990.50: 10.00 away = 1,000 ticks of 1 USD = 1,000 USD a lot.
    // 1 % of 10,000 = 100 USD of risk: 0.1 lot.
    expect(sizeOrder(input({ sizing: { mode: 'risk_percent', value: 1 }, sl: 1990.5 }))).toEqual({
      ok: true,
      volume: 0.1,
    });
    // A sell enters at the bid: 2000 to sl 2020 is 2,000 ticks: 2 % of 10,000 / 2,000 = 0.1.
    expect(sizeOrder(input({ sizing: { mode: 'risk_percent', value: 2 }, side: 'sell', sl: 2020 }))).toEqual({
      ok: true,
      volume: 0.1,
    });
  });

  it('refuses risk_percent without sl, without a contract, or without equity', () => {
    const risk = { mode: 'risk_percent', value: 1 } as const;
    expect(sizeOrder(input({ sizing: risk }))).toMatchObject({ ok: false, reason: 'sizing_needs_sl' });
    expect(sizeOrder(input({ sizing: risk, sl: 1990, symbol: undefined }))).toMatchObject({
      ok: false,
      reason: 'symbol_unavailable',
    });
    expect(sizeOrder(input({ sizing: risk, sl: 1990, equity: undefined }))).toMatchObject({
      ok: false,
      reason: 'equity_unavailable',
    });
  });

  it('caps at max_volume and at the symbol maximum', () => {
    expect(sizeOrder(input({ sizing: { mode: 'multiplier', value: 10 }, volume: 1, maxVolume: 2 }))).toEqual({
      ok: true,
      volume: 2,
    });
    expect(sizeOrder(input({ sizing: { mode: 'fixed', value: 80 } }))).toEqual({ ok: true, volume: 50 });
  });

  it('refuses a volume under the symbol minimum instead of rounding it up', () => {
    expect(
      sizeOrder(
        input({ symbol: { ...XAUUSD, volume_min: 0.1 }, sizing: { mode: 'multiplier', value: 0.5 } }),
      ),
    ).toMatchObject({ ok: false, reason: 'volume_too_small' });
    expect(sizeOrder(input({ volume: 0.004 }))).toMatchObject({ ok: false, reason: 'volume_too_small' });
  });

  it('rounds to 0.01 when the broker cannot describe the symbol', () => {
    expect(sizeOrder(input({ symbol: undefined, volume: 0.123 }))).toEqual({ ok: true, volume: 0.12 });
  });

  it('follows a coarser step (0.1) and a finer one (0.001)', () => {
    expect(
      sizeOrder(input({ symbol: { ...XAUUSD, volume_step: 0.1, volume_min: 0.1 }, volume: 0.37 })),
    ).toEqual({
      ok: true,
      volume: 0.3,
    });
    expect(
      sizeOrder(input({ symbol: { ...XAUUSD, volume_step: 0.001, volume_min: 0.001 }, volume: 0.1237 })),
    ).toEqual({ ok: true, volume: 0.123 });
  });
});
