import { Retcode } from '../broker/retcodes';
import type { PaperAccount } from './paper-account';
import { newAccount, T0 } from './paper-test-helpers';

const EURUSD_POINT = 0.00001;
/** Rounds to the symbol's 5 digits, as the account quotes. */
const eur = (price: number): number => Math.round(price / EURUSD_POINT) * EURUSD_POINT;
/** Profit in USD of `lots` of EURUSD moved from `from` to `to` (1 point of 1 lot is 1 USD), in cents. */
const eurProfit = (from: number, to: number, lots: number): number =>
  Math.round(Math.round((to - from) / EURUSD_POINT) * lots * 100) / 100;

/** Bid and ask of `symbol` at each second T0 .. T0 + seconds, from a twin account that holds nothing. */
function quotePath(symbol: string, seconds: number): { bid: number; ask: number }[] {
  const twin = newAccount();
  return Array.from({ length: seconds + 1 }, (_, k) => twin.quote(symbol, T0 + k * 1000)!);
}

function closingDeal(account: PaperAccount, ticket: number, now: number) {
  const deals = account.deals(ticket, now);
  expect(deals.map((d) => d.entry)).toEqual(['in', 'out']);
  return deals[1];
}

describe('PaperAccount stop loss and take profit', () => {
  it('closes a buy at its SL when a shock drops bid past it, at the level, not at the shocked price', () => {
    const account = newAccount();
    const { bid, ask } = account.quote('EURUSD', T0)!;
    const sl = eur(bid - 0.002);
    const tp = eur(ask + 0.003);
    const opened = account.open(
      { request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.5, sl, tp, magic: 7, comment: 'o-1' },
      T0,
    );
    account.applyPriceShock('EURUSD', -1, T0);
    expect(account.quote('EURUSD', T0)!.bid).toBeLessThan(sl); // jumped past it

    expect(account.positions(T0)).toEqual([]);
    const expected = eurProfit(opened.price, sl, 0.5);
    expect(expected).toBeLessThan(0);
    expect(account.account(T0)).toMatchObject({
      balance: 10_000 + expected,
      equity: 10_000 + expected,
      margin: 0,
    });
    expect(closingDeal(account, opened.position, T0)).toEqual({
      ticket: opened.deal + 1,
      order: opened.order + 1,
      position: opened.position,
      symbol: 'EURUSD',
      type: 'sell',
      entry: 'out',
      volume: 0.5,
      price: sl,
      profit: expected,
      reason: 'sl',
      magic: 7,
      comment: 'o-1',
      time: new Date(T0).toISOString(),
    });
  });

  it('closes a buy at its TP when bid rises past it', () => {
    const account = newAccount();
    const { bid, ask } = account.quote('EURUSD', T0)!;
    const tp = eur(ask + 0.003);
    const opened = account.open(
      { request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.2, sl: eur(bid - 0.002), tp },
      T0,
    );
    account.applyPriceShock('EURUSD', 1, T0);
    expect(account.quote('EURUSD', T0)!.bid).toBeGreaterThan(tp);
    expect(account.positions(T0)).toEqual([]);
    const expected = eurProfit(opened.price, tp, 0.2);
    expect(expected).toBeGreaterThan(0);
    expect(account.account(T0).balance).toBe(10_000 + expected);
    expect(closingDeal(account, opened.position, T0)).toMatchObject({
      type: 'sell',
      price: tp,
      profit: expected,
      reason: 'tp',
    });
  });

  it('closes a sell at its SL when ask rises past it', () => {
    const account = newAccount();
    const { bid, ask } = account.quote('EURUSD', T0)!;
    const sl = eur(ask + 0.002);
    const opened = account.open(
      { request_id: 'o-1', symbol: 'EURUSD', type: 'sell', volume: 0.3, sl, tp: eur(bid - 0.003) },
      T0,
    );
    account.applyPriceShock('EURUSD', 1, T0);
    expect(account.quote('EURUSD', T0)!.ask).toBeGreaterThan(sl);
    expect(account.positions(T0)).toEqual([]);
    const expected = eurProfit(sl, opened.price, 0.3); // a sell earns open - close
    expect(expected).toBeLessThan(0);
    expect(account.account(T0).balance).toBe(10_000 + expected);
    expect(closingDeal(account, opened.position, T0)).toMatchObject({
      type: 'buy',
      entry: 'out',
      price: sl,
      profit: expected,
      reason: 'sl',
    });
  });

  it('closes a sell at its TP when ask falls past it, converting a JPY profit at the close price', () => {
    const account = newAccount();
    const { bid, ask } = account.quote('USDJPY', T0)!;
    const tp = Math.round((bid - 0.5) * 1000) / 1000;
    const opened = account.open(
      { request_id: 'o-1', symbol: 'USDJPY', type: 'sell', volume: 0.4, sl: ask + 0.5, tp },
      T0,
    );
    account.applyPriceShock('USDJPY', -1, T0);
    expect(account.quote('USDJPY', T0)!.ask).toBeLessThan(tp);
    expect(account.positions(T0)).toEqual([]);
    // (open - close) in points * 0.4 lot * 100,000 / 1000 points per JPY, then JPY / close price.
    const jpy = (Math.round((opened.price - tp) * 1000) * 0.4 * 100_000) / 1000;
    const expected = Math.round((jpy / tp) * 100) / 100;
    expect(expected).toBeGreaterThan(0);
    expect(account.account(T0).balance).toBe(10_000 + expected);
    expect(closingDeal(account, opened.position, T0)).toMatchObject({
      type: 'buy',
      price: tp,
      profit: expected,
      reason: 'tp',
    });
  });

  it('leaves positions without stops, and stops not reached, as they are', () => {
    const account = newAccount();
    const { ask } = account.quote('EURUSD', T0)!;
    const plain = account.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    const far = account.open(
      { request_id: 'o-2', symbol: 'EURUSD', type: 'buy', volume: 0.1, tp: eur(ask + 0.05) },
      T0,
    );
    const sell = account.open(
      { request_id: 'o-3', symbol: 'EURUSD', type: 'sell', volume: 0.1, sl: 0, tp: 0 },
      T0,
    );
    for (const percent of [3, -3, 2]) account.applyPriceShock('EURUSD', percent, T0);
    const later = T0 + 600_000;
    expect(account.positions(later).map((p) => p.ticket)).toEqual([
      plain.position,
      far.position,
      sell.position,
    ]);
    expect(account.account(later).balance).toBe(10_000);
    for (const ticket of [plain.position, far.position, sell.position])
      expect(account.deals(ticket, later).map((d) => d.entry)).toEqual(['in']);
  });

  it('triggers at the step inside a long gap where bid crossed the SL, although bid is back above it at the end', () => {
    const seconds = 600;
    const path = quotePath('EURUSD', seconds);
    const bids = path.map((q) => q.bid);
    const sl = Math.min(...bids.slice(1));
    const crossedAt = bids.indexOf(sl);
    // The scenario this seed gives: bid dips to the SL in the middle of the gap and recovers.
    expect(sl).toBeLessThan(bids[0]);
    expect(crossedAt).toBeGreaterThan(1);
    expect(crossedAt).toBeLessThan(seconds);
    expect(bids[seconds]).toBeGreaterThan(sl);

    const account = newAccount();
    const opened = account.open({ request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 1, sl }, T0);
    // One call walks all 600 steps.
    const end = T0 + seconds * 1000;
    expect(account.positions(end)).toEqual([]);
    const expected = eurProfit(opened.price, sl, 1);
    expect(closingDeal(account, opened.position, end)).toMatchObject({
      price: sl,
      profit: expected,
      reason: 'sl',
      time: new Date(T0 + crossedAt * 1000).toISOString(),
    });
    expect(account.account(end).balance).toBe(10_000 + expected);
    // The walk itself is not disturbed by the stop checks.
    expect(account.quote('EURUSD', end)).toEqual(path[seconds]);
  });

  it('walks to the same prices with positions open (step by step) as without (in one go)', () => {
    const busy = newAccount();
    const idle = newAccount();
    busy.open({ request_id: 'o-1', symbol: 'XAUUSD', type: 'buy', volume: 0.1, sl: 1000, tp: 3000 }, T0);
    busy.open({ request_id: 'o-2', symbol: 'GBPUSD', type: 'sell', volume: 0.1 }, T0);
    idle.quote('EURUSD', T0);
    for (const t of [T0 + 3_600_000, T0 + 3_600_000 * 3, T0 + 3_600_000 * 3 + 2_500]) {
      for (const symbol of busy.symbols()) expect(busy.quote(symbol, t)).toEqual(idle.quote(symbol, t));
    }
    // A gap longer than maxCatchUpSteps jumps the rest in both modes alike.
    expect(busy.positions(T0 + 3_600_000 * 3).map((p) => p.ticket)).toEqual([100_001, 100_002]);
  });

  it('closes a position once, even when it is asked to close again, and keeps idempotency', () => {
    const account = newAccount();
    const { bid } = account.quote('EURUSD', T0)!;
    const request = {
      request_id: 'o-1',
      symbol: 'EURUSD',
      type: 'buy' as const,
      volume: 0.1,
      sl: eur(bid - 0.001),
    };
    const opened = account.open(request, T0);
    account.applyPriceShock('EURUSD', -1, T0);
    account.applyPriceShock('EURUSD', -1, T0); // crosses again: nothing is left to close
    expect(account.deals(opened.position, T0).map((d) => d.reason)).toEqual(['expert', 'sl']);
    // The same request id answers the stored fill and does not open again.
    expect(account.open(request, T0)).toEqual(opened);
    expect(account.positions(T0)).toEqual([]);
    // Closing what the stop closed is refused, and that refusal is stored like any outcome.
    const late = account.close({ request_id: 'c-1', ticket: opened.position }, T0);
    expect(late.retcode).toBe(Retcode.POSITION_CLOSED);
    expect(account.close({ request_id: 'c-1', ticket: opened.position }, T0)).toEqual(late);
    expect(account.deals(opened.position, T0)).toHaveLength(2);
  });

  it('numbers the orders and deals of automatic closes from the same counters as trades', () => {
    const account = newAccount();
    const { bid } = account.quote('EURUSD', T0)!;
    const a = account.open(
      { request_id: 'o-1', symbol: 'EURUSD', type: 'buy', volume: 0.1, sl: eur(bid - 0.001) },
      T0,
    );
    account.applyPriceShock('EURUSD', -1, T0);
    const b = account.open({ request_id: 'o-2', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, T0);
    const out = closingDeal(account, a.position, T0);
    expect([a.deal, out.ticket, b.deal]).toEqual([a.deal, a.deal + 1, a.deal + 2]);
    expect([a.order, out.order, b.order]).toEqual([a.order, a.order + 1, a.order + 2]);
    expect(account.snapshot().nextDeal).toBe(b.deal + 1);
  });
});
