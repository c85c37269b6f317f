import type { OrderSide, SymbolInfo } from '../broker/broker-types';

/**
 * How an account turns a signal's volume into its own lots (docs/accounts.md, Sizing):
 * - `multiplier`: the signal's volume times `value` (the default, with 1);
 * - `fixed`: `value` lots whatever the signal says;
 * - `risk_percent`: the lots whose loss at the signal's `sl` is `value` % of the account's equity.
 */
export type Sizing =
  | { mode: 'multiplier'; value: number }
  | { mode: 'fixed'; value: number }
  | { mode: 'risk_percent'; value: number };

export const DEFAULT_SIZING: Sizing = { mode: 'multiplier', value: 1 };

/** The volume step when the broker cannot say (docs/accounts.md). */
const UNKNOWN_STEP = 0.01;
/** Lots are compared and rounded on a grid finer than any broker's step, so 0.3 / 0.01 is 30, not 29.999. */
const EPSILON = 1e-9;

export interface SizingInput {
  sizing: Sizing;
  /** The signal's base volume. */
  volume: number;
  side: OrderSide;
  sl: number | undefined;
  /** The account's largest volume per signal (`max_volume`). */
  maxVolume: number;
  /** The instrument as the broker describes it; undefined when it could not say (step 0.01, no min or max but ours). */
  symbol: SymbolInfo | undefined;
  /** The account's equity, for `risk_percent`. */
  equity: number | undefined;
}

export type SizingFailure =
  'sizing_needs_sl' | 'volume_too_small' | 'symbol_unavailable' | 'equity_unavailable';

export type SizingResult =
  { ok: true; volume: number } | { ok: false; reason: SizingFailure; detail: string };

/**
 * The lots one account sends for one signal: sized, rounded down to the symbol's volume step,
 * capped at `max_volume` and the symbol's maximum; under the symbol's minimum it is refused
 * (`volume_too_small`), never rounded up: an account never trades more than it asked for.
 */
export function sizeOrder(input: SizingInput): SizingResult {
  const raw = rawVolume(input);
  if (!raw.ok) return raw;
  const { symbol } = input;
  const step = symbol !== undefined && symbol.volume_step > 0 ? symbol.volume_step : UNKNOWN_STEP;
  const cap = Math.min(input.maxVolume, symbol?.volume_max ?? Number.POSITIVE_INFINITY);
  const volume = roundDownToStep(Math.min(raw.volume, cap), step);
  const min = symbol?.volume_min ?? step;
  if (!(volume > 0) || volume + EPSILON < min)
    return {
      ok: false,
      reason: 'volume_too_small',
      detail: `${round(raw.volume)} lots sized, ${volume} after rounding to the step ${step}; the symbol's minimum is ${min}`,
    };
  return { ok: true, volume };
}

function rawVolume(input: SizingInput): SizingResult {
  const { sizing } = input;
  switch (sizing.mode) {
    case 'multiplier':
      return { ok: true, volume: input.volume * sizing.value };
    case 'fixed':
      return { ok: true, volume: sizing.value };
    case 'risk_percent':
      return riskVolume(input, sizing.value);
  }
}

/** Lots whose loss from the entry (ask for a buy, bid for a sell) to `sl` is `percent` of equity. */
function riskVolume(input: SizingInput, percent: number): SizingResult {
  const { sl, symbol, equity } = input;
  if (sl === undefined)
    return {
      ok: false,
      reason: 'sizing_needs_sl',
      detail: 'risk_percent sizing needs the signal to carry sl',
    };
  if (symbol === undefined || !(symbol.tick_size > 0) || !(symbol.tick_value > 0))
    return {
      ok: false,
      reason: 'symbol_unavailable',
      detail: 'risk_percent sizing needs the symbol contract (tick size and value)',
    };
  const entry = input.side === 'buy' ? symbol.ask : symbol.bid;
  if (!(entry > 0))
    return {
      ok: false,
      reason: 'symbol_unavailable',
      detail: `no ${input.side === 'buy' ? 'ask' : 'bid'} quote`,
    };
  if (equity === undefined || !(equity > 0))
    return {
      ok: false,
      reason: 'equity_unavailable',
      detail: 'risk_percent sizing needs the account equity',
    };
  const distance = Math.abs(entry - sl);
  if (!(distance > 0))
    return { ok: false, reason: 'volume_too_small', detail: `sl ${sl} is at the entry price ${entry}` };
  const lossPerLot = (distance / symbol.tick_size) * symbol.tick_value;
  return { ok: true, volume: (equity * percent) / 100 / lossPerLot };
}

/** Rounds down to a whole number of steps, on a grid where float noise cannot lose a step. */
function roundDownToStep(volume: number, step: number): number {
  const steps = Math.floor(volume / step + EPSILON);
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - EPSILON));
  return Number((steps * step).toFixed(Math.min(decimals + 2, 10)));
}

function round(volume: number): number {
  return Math.round(volume * 1e6) / 1e6;
}
