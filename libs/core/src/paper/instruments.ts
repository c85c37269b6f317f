import { roundTo } from '../numbers/output-precision';

/**
 * Instruments the paper account can quote. The four defaults of PAPER_SYMBOLS have hand-picked
 * specs; any other 6-letter FX pair of two known currencies follows one generic rule; anything
 * else is refused when the account is built, so a typo in PAPER_SYMBOLS stops the start-up
 * instead of quoting nonsense.
 */
export interface InstrumentSpec {
  readonly symbol: string;
  /** Base and quote currency: profit is earned in `quote`, margin is held on `base`. */
  readonly base: string;
  readonly quote: string;
  /** Units of base per lot (FX 100,000; XAUUSD 100 troy ounces). */
  readonly contractSize: number;
  /** Price decimals; one point is 10^-digits. */
  readonly digits: number;
  /** Typical spread in points (bid and ask straddle the mid by half of it). */
  readonly spreadPoints: number;
  /** Mid price where the walk starts. */
  readonly startPrice: number;
  /** Relative standard deviation of one walk step (one simulated second by default). */
  readonly volatility: number;
  readonly volumeMin: number;
  readonly volumeStep: number;
  readonly volumeMax: number;
}

export const ACCOUNT_CURRENCY = 'USD';

const VOLUME = { volumeMin: 0.01, volumeStep: 0.01, volumeMax: 100 } as const;

/**
 * Approximate USD value of one unit of each currency. Used for the start price of generic pairs
 * and to convert cross-pair profit to USD (see `profitToUsd`). Rough levels, good enough for a
 * simulated account; never used for a real account.
 */
const USD_PER_UNIT: Readonly<Record<string, number>> = {
  USD: 1,
  EUR: 1.08,
  GBP: 1.27,
  JPY: 1 / 150,
  CHF: 1.12,
  AUD: 0.66,
  NZD: 0.6,
  CAD: 0.73,
  SEK: 0.095,
  NOK: 0.093,
  DKK: 0.145,
  SGD: 0.74,
  HKD: 0.128,
  CNH: 0.138,
  MXN: 0.058,
  ZAR: 0.054,
  PLN: 0.25,
  CZK: 0.043,
  HUF: 0.0027,
  TRY: 0.031,
};

const KNOWN_SPECS: Readonly<Record<string, InstrumentSpec>> = {
  EURUSD: {
    symbol: 'EURUSD',
    base: 'EUR',
    quote: 'USD',
    contractSize: 100_000,
    digits: 5,
    spreadPoints: 10,
    startPrice: 1.085,
    volatility: 0.00002,
    ...VOLUME,
  },
  GBPUSD: {
    symbol: 'GBPUSD',
    base: 'GBP',
    quote: 'USD',
    contractSize: 100_000,
    digits: 5,
    spreadPoints: 14,
    startPrice: 1.27,
    volatility: 0.00002,
    ...VOLUME,
  },
  USDJPY: {
    symbol: 'USDJPY',
    base: 'USD',
    quote: 'JPY',
    contractSize: 100_000,
    digits: 3,
    spreadPoints: 10,
    startPrice: 150,
    volatility: 0.00002,
    ...VOLUME,
  },
  XAUUSD: {
    symbol: 'XAUUSD',
    base: 'XAU',
    quote: 'USD',
    contractSize: 100,
    digits: 2,
    spreadPoints: 30,
    startPrice: 2000,
    volatility: 0.00004,
    ...VOLUME,
  },
};

const GENERIC_SPREAD_POINTS = 20;

/** The spec of one symbol, or an Error saying what shapes are accepted. */
export function instrumentSpec(symbol: string): InstrumentSpec {
  const known = KNOWN_SPECS[symbol];
  if (known) return known;
  const match = /^([A-Z]{3})([A-Z]{3})$/.exec(symbol);
  const base = match?.[1];
  const quote = match?.[2];
  const baseUsd = base === undefined ? undefined : USD_PER_UNIT[base];
  const quoteUsd = quote === undefined ? undefined : USD_PER_UNIT[quote];
  if (
    base === undefined ||
    quote === undefined ||
    baseUsd === undefined ||
    quoteUsd === undefined ||
    base === quote
  ) {
    throw new Error(
      `paper account cannot quote "${symbol}": expected ${Object.keys(KNOWN_SPECS).join(', ')} or a 6-letter FX pair of two ` +
        `different currencies among ${Object.keys(USD_PER_UNIT).join(', ')}`,
    );
  }
  const rawPrice = baseUsd / quoteUsd;
  // Quotes around 100 and above (JPY, HUF) use 3 decimals, the rest 5, as MT5 brokers do.
  const digits = rawPrice >= 50 ? 3 : 5;
  return {
    symbol,
    base,
    quote,
    contractSize: 100_000,
    digits,
    spreadPoints: GENERIC_SPREAD_POINTS,
    startPrice: roundTo(rawPrice, digits),
    volatility: 0.00002,
    ...VOLUME,
  };
}

/** Specs for a PAPER_SYMBOLS list; throws on an unknown shape or a duplicate. */
export function resolveInstruments(symbols: readonly string[]): Map<string, InstrumentSpec> {
  if (symbols.length === 0) throw new Error('paper account needs at least one symbol');
  const specs = new Map<string, InstrumentSpec>();
  for (const symbol of symbols) {
    if (specs.has(symbol)) throw new Error(`paper account symbol "${symbol}" is listed twice`);
    specs.set(symbol, instrumentSpec(symbol));
  }
  return specs;
}

/**
 * Converts an amount in the instrument's quote currency into USD.
 * - USD-quoted (EURUSD, XAUUSD): as is.
 * - USD-based (USDJPY, USDCHF): divide by `currentPrice`, the price the amount was valued at
 *   (what MT5 does for a USD account).
 * - Crosses (EURJPY, EURGBP): an approximation with the fixed USD_PER_UNIT rate of the quote
 *   currency, not a live rate; the paper walks are independent, so there is no consistent
 *   live cross rate to use anyway.
 */
export function profitToUsd(spec: InstrumentSpec, amountInQuote: number, currentPrice: number): number {
  if (spec.quote === ACCOUNT_CURRENCY) return amountInQuote;
  if (spec.base === ACCOUNT_CURRENCY) return amountInQuote / currentPrice;
  const rate = USD_PER_UNIT[spec.quote];
  if (rate === undefined) throw new Error(`no USD rate for ${spec.quote} (instrument ${spec.symbol})`);
  return amountInQuote * rate;
}

export { roundTo };
