import type { PaperAccount, PaperAccountOptions } from './paper-account';
import { newAccount, T0 } from './paper-test-helpers';

/** A stop-out level no real margin level reaches: a twin that shows what the account would hold without stop-out. */
const NEVER: Partial<PaperAccountOptions> = { stopOutLevelPercent: 1e-9 };

const marginLevel = (account: PaperAccount, now: number): number => {
  const { equity, margin } = account.account(now);
  return (equity / margin) * 100;
};

/** Three buys, then shocks that leave GBPUSD with the largest loss, EURUSD next, USDJPY about flat. */
function loseOnTwoPairs(account: PaperAccount): void {
  account.open(
    { request_id: 'o-eur', symbol: 'EURUSD', type: 'buy', volume: 3, magic: 5, comment: 'eur' },
    T0,
  );
  account.open({ request_id: 'o-gbp', symbol: 'GBPUSD', type: 'buy', volume: 3 }, T0);
  account.open({ request_id: 'o-jpy', symbol: 'USDJPY', type: 'buy', volume: 1 }, T0);
  account.applyPriceShock('EURUSD', -0.5, T0);
  account.applyPriceShock('GBPUSD', -2, T0);
}

describe('PaperAccount margin stop-out', () => {
  it('closes the largest loss first, at the market, and stops as soon as the level is back at the stop-out level', () => {
    const twin = newAccount(NEVER);
    loseOnTwoPairs(twin);
    const before = twin.positions(T0);
    expect(marginLevel(twin, T0)).toBeLessThan(50);
    const worstFirst = [...before].sort((a, b) => a.profit - b.profit);
    // The largest loss is not the oldest position: the order is by loss, not by ticket.
    expect(worstFirst[0].ticket).not.toBe(before[0].ticket);

    // How many closes, in that order, bring the level back to 50 %: counted on another twin.
    const probe = newAccount(NEVER);
    loseOnTwoPairs(probe);
    let needed = 0;
    while (marginLevel(probe, T0) < 50) {
      probe.close({ request_id: `c-${needed}`, ticket: worstFirst[needed].ticket }, T0);
      needed += 1;
    }
    expect(needed).toBeGreaterThan(1); // one close is not enough here...
    expect(needed).toBeLessThan(before.length); // ...and it stops before closing everything

    const account = newAccount(); // the default stop-out level, 50 %
    loseOnTwoPairs(account);
    const closed = worstFirst.slice(0, needed);
    expect(account.positions(T0).map((p) => p.ticket)).toEqual(
      before.filter((p) => !closed.includes(p)).map((p) => p.ticket),
    );
    const outs = closed.map((p) => account.deals(p.ticket, T0).find((d) => d.entry === 'out')!);
    expect(outs.map((d) => d.ticket)).toEqual([...outs.map((d) => d.ticket)].sort((a, b) => a - b)); // in that order
    closed.forEach((p, i) =>
      expect(outs[i]).toMatchObject({
        position: p.ticket,
        symbol: p.symbol,
        type: 'sell',
        volume: p.volume,
        price: p.price_current,
        profit: p.profit,
        reason: 'so',
        time: new Date(T0).toISOString(),
      }),
    );
    expect(outs.find((d) => d.symbol === 'EURUSD')).toMatchObject({ magic: 5, comment: 'eur' });
    expect(account.account(T0)).toEqual(probe.account(T0));
    expect(marginLevel(account, T0)).toBeGreaterThanOrEqual(50);
  });

  it('leaves a comfortable margin level alone', () => {
    const account = newAccount();
    account.open({ request_id: 'o-eur', symbol: 'EURUSD', type: 'buy', volume: 3 }, T0);
    account.open({ request_id: 'o-gbp', symbol: 'GBPUSD', type: 'buy', volume: 3 }, T0);
    account.applyPriceShock('EURUSD', -0.5, T0);
    const level = marginLevel(account, T0);
    expect(level).toBeGreaterThan(50);
    expect(level).toBeLessThan(150); // a loss, but not a stop-out
    expect(account.positions(T0)).toHaveLength(2);
    expect(account.account(T0 + 600_000).balance).toBe(10_000);
  });

  it('closes everything when even that cannot bring the level back, booking the losses into the balance', () => {
    const twin = newAccount(NEVER);
    const account = newAccount();
    for (const a of [twin, account]) {
      a.open({ request_id: 'o-1', symbol: 'XAUUSD', type: 'buy', volume: 0.4 }, T0);
      a.open({ request_id: 'o-2', symbol: 'XAUUSD', type: 'sell', volume: 0.1 }, T0);
      a.applyPriceShock('XAUUSD', -20, T0);
    }
    // Closing at the market leaves equity (negative here) as it is, so the level never recovers.
    expect(account.positions(T0)).toEqual([]);
    expect(account.account(T0)).toMatchObject({ margin: 0, balance: twin.account(T0).equity });
    expect(account.deals(100_001, T0).map((d) => d.reason)).toEqual(['expert', 'so']);
    expect(account.deals(100_002, T0).map((d) => d.reason)).toEqual(['expert', 'so']);
  });

  it('acts at the walk step where the level fell under its threshold, inside a long gap', () => {
    const options = { stopOutLevelPercent: 100 };
    const order = { request_id: 'o-1', symbol: 'EURUSD', type: 'buy' as const, volume: 9 };
    const twin = newAccount(NEVER);
    twin.open(order, T0);
    expect(marginLevel(twin, T0)).toBeGreaterThan(100);
    let crossedAt = 0;
    for (let k = 1; k <= 600 && crossedAt === 0; k++)
      if (marginLevel(twin, T0 + k * 1000) < 100) crossedAt = k;
    expect(crossedAt).toBeGreaterThan(1);
    const [held] = twin.positions(T0 + crossedAt * 1000);

    const account = newAccount(options);
    account.open(order, T0);
    const end = T0 + 600_000;
    expect(account.positions(end)).toEqual([]); // one call walks the whole gap
    expect(account.deals(held.ticket, end)[1]).toMatchObject({
      reason: 'so',
      price: held.price_current,
      profit: held.profit,
      time: new Date(T0 + crossedAt * 1000).toISOString(),
    });
    expect(account.account(end).balance).toBe(10_000 + held.profit);
  });

  it('never leaves the level under the threshold after a step, with many small positions hovering around it', () => {
    const symbols = ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'];
    const open = (account: PaperAccount) => {
      for (let i = 0; i < 400; i++)
        account.open(
          {
            request_id: `o-${i}`,
            symbol: symbols[i % 4],
            type: i % 3 === 0 ? 'sell' : 'buy',
            volume: 0.01 * (1 + (i % 5)),
          },
          T0,
        );
    };
    const twin = newAccount({ ...NEVER, balance: 3_000 });
    open(twin);
    // Just under where the account starts, so the walk takes the level back and forth across it.
    const threshold = marginLevel(twin, T0) - 0.5;
    const account = newAccount({ balance: 3_000, stopOutLevelPercent: threshold });
    open(account);
    let stoppedOut = 0;
    for (let k = 1; k <= 900; k++) {
      const now = T0 + k * 1000;
      const { margin } = account.account(now);
      if (margin > 0) expect(marginLevel(account, now)).toBeGreaterThanOrEqual(threshold);
      stoppedOut = 400 - account.positions(now).length;
    }
    expect(stoppedOut).toBeGreaterThan(0); // the scenario did reach the threshold
    expect(stoppedOut).toBeLessThan(400);
  });

  it('refuses a stop-out level that is not a positive number', () => {
    for (const level of [0, -5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => newAccount({ stopOutLevelPercent: level })).toThrow(RangeError);
  });
});
