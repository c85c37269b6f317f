import { Retcode } from '../broker/retcodes';
import { PaperAccount, type PaperAccountOptions, type PaperChange } from './paper-account';
import { PaperMarket, type MarketListener } from './paper-market';
import { PriceWalk, type PriceWalkState } from './price-walk';
import { instrumentSpec } from './instruments';
import { newAccount, T0 } from './paper-test-helpers';

const SYMBOLS = ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'];
const OPTIONS = { balance: 10_000, symbols: SYMBOLS, seed: 42 };
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const newMarket = () => new PaperMarket({ symbols: SYMBOLS, seed: 42 });
const on = (market: PaperMarket, overrides: Partial<PaperAccountOptions> = {}) =>
  newAccount({ market, ...overrides });

/** EURUSD bids at T0, T0 + 1 s, ... from a market no account touches; `shock` is applied as in the test. */
function bidPath(seconds: number, shock?: { at: number; symbol: string; percent: number }): number[] {
  const market = newMarket();
  return Array.from({ length: seconds + 1 }, (_, k) => {
    const t = T0 + k * 1000;
    market.advanceTo(t);
    if (shock !== undefined && shock.at === t) market.shock(shock.symbol, shock.percent);
    return market.quote('EURUSD')!.bid;
  });
}

/** Seconds after `from` where the bid makes a new low (below every earlier bid), in order. */
function newLows(path: readonly number[], from: number): number[] {
  const lows: number[] = [];
  let low = Math.min(...path.slice(0, from + 1));
  for (let k = from + 1; k < path.length; k++) {
    if (path[k] < low) lows.push(k);
    low = Math.min(low, path[k]);
  }
  return lows;
}

describe('PaperMarket shared by several accounts', () => {
  it('fills every account at the same quote at one moment: ask for a buy, bid for a sell', () => {
    const market = newMarket();
    const [a, b, c] = [on(market), on(market), on(market, { balance: 50_000 })];
    const t = T0 + 7_000;
    a.account(T0);
    const quote = b.quote('EURUSD', t)!;
    const buyA = a.open({ request_id: 'x', symbol: 'EURUSD', type: 'buy', volume: 0.1 }, t);
    const sellB = b.open({ request_id: 'x', symbol: 'EURUSD', type: 'sell', volume: 0.3 }, t);
    const buyC = c.open({ request_id: 'x', symbol: 'EURUSD', type: 'buy', volume: 1 }, t);
    expect([buyA.retcode, sellB.retcode, buyC.retcode]).toEqual([Retcode.DONE, Retcode.DONE, Retcode.DONE]);
    expect([buyA.price, sellB.price, buyC.price]).toEqual([quote.ask, quote.bid, quote.ask]);
    // Each has its own book: the same first ticket, its own balance.
    expect([buyA.position, sellB.position, buyC.position]).toEqual([100_001, 100_001, 100_001]);
    expect(c.account(t).balance).toBe(50_000);
    expect(a.positions(t)).toHaveLength(1);
  });

  it('quotes and fills one account on a shared market exactly as on its own market', () => {
    const alone = newAccount();
    const shared = on(newMarket());
    const script = (account: PaperAccount) => {
      const out: unknown[] = [];
      let t = T0;
      for (let i = 0; i < 120; i++) {
        t += (i * 7919) % 4_000;
        const symbol = SYMBOLS[i % 4];
        const q = account.quote(symbol, t)!;
        out.push(q);
        if (i % 3 === 0) {
          const buy = i % 2 === 0;
          const gap = (q.ask - q.bid) * (2 + (i % 5));
          out.push(
            account.open(
              {
                request_id: `o-${i}`,
                symbol,
                type: buy ? 'buy' : 'sell',
                volume: 0.5,
                sl: buy ? q.bid - gap : q.ask + gap,
                tp: buy ? q.ask + gap : q.bid - gap,
              },
              t,
            ),
          );
        }
        if (i % 17 === 5) account.applyPriceShock(symbol, i % 2 === 0 ? -0.3 : 0.3, t);
        out.push(account.account(t), account.positions(t), account.takeAutomaticCloses());
      }
      out.push(account.snapshot());
      return out;
    };
    const closes = script(alone).filter((x) => Array.isArray(x) && x.length > 0 && 'request' in x[0]);
    expect(closes.length).toBeGreaterThan(3); // stops did trigger
    expect(script(shared)).toEqual(script(newAccount()));
  });

  it('closes, at the step the price crossed, the positions of two accounts with a stop there, and only those', () => {
    const path = bidPath(900);
    const [k] = newLows(path, 30);
    expect(k).toBeDefined();
    const sl = path[k];
    const market = newMarket();
    const [a, b, idle] = [on(market), on(market), on(market)];
    a.open({ request_id: 'a', symbol: 'EURUSD', type: 'buy', volume: 0.1, sl }, T0);
    b.open({ request_id: 'b', symbol: 'EURUSD', type: 'buy', volume: 0.2, sl }, T0 + 20_000);
    b.open({ request_id: 'b2', symbol: 'EURUSD', type: 'buy', volume: 0.2 }, T0 + 20_000); // no stop
    idle.account(T0 + 900_000); // the account without positions moves the market for everyone

    for (const [account, volume] of [
      [a, 0.1],
      [b, 0.2],
    ] as const) {
      const [close, ...more] = account.takeAutomaticCloses();
      expect(more).toEqual([]);
      expect(close.deals).toEqual([
        expect.objectContaining({
          position: 100_001,
          entry: 'out',
          reason: 'sl',
          price: sl,
          volume,
          time: new Date(T0 + k * 1000).toISOString(),
        }),
      ]);
    }
    expect(b.positions(T0 + 900_000).map((p) => p.ticket)).toEqual([100_002]);
    expect(idle.takeAutomaticCloses()).toEqual([]);
  });

  it('stops out the account whose margin level fell under the level, and leaves another on the same prices alone', () => {
    const market = newMarket();
    const thin = on(market);
    const rich = on(market, { balance: 1_000_000 });
    for (const account of [thin, rich])
      expect(account.open({ request_id: 'o', symbol: 'EURUSD', type: 'buy', volume: 8 }, T0).retcode).toBe(
        Retcode.DONE,
      );
    rich.applyPriceShock('EURUSD', -1, T0); // moved by the other account
    expect(thin.positions(T0)).toEqual([]);
    expect(thin.takeAutomaticCloses()[0].deals[0]).toMatchObject({ reason: 'so', volume: 8 });
    expect(rich.positions(T0)).toHaveLength(1);
    expect(rich.takeAutomaticCloses()).toEqual([]);
  });

  it('pushes steps only to accounts holding positions (an account without positions costs nothing per step)', () => {
    const market = newMarket();
    const accounts = Array.from({ length: 50 }, () => on(market));
    accounts[0].account(T0);
    expect(market.subscriberCount).toBe(0);
    const { bid } = accounts[3].quote('EURUSD', T0)!;
    accounts[3].open({ request_id: 'o', symbol: 'EURUSD', type: 'buy', volume: 0.1, sl: bid - 0.0002 }, T0);
    accounts[7].open({ request_id: 'o', symbol: 'GBPUSD', type: 'sell', volume: 0.1 }, T0);
    expect(market.subscriberCount).toBe(2);
    accounts[7].close({ request_id: 'c', ticket: 100_001 }, T0 + 1_000);
    expect(market.subscriberCount).toBe(1);
    accounts[3].applyPriceShock('EURUSD', -1, T0 + 1_000); // its stop loss: its last position
    expect(accounts[3].positions(T0 + 1_000)).toEqual([]);
    expect(market.subscriberCount).toBe(0);
  });

  it('moves every account quotes with a price shock', () => {
    const market = newMarket();
    const [a, b] = [on(market), on(market)];
    const before = b.quote('XAUUSD', T0)!;
    a.applyPriceShock('XAUUSD', 2, T0);
    const after = b.quote('XAUUSD', T0)!;
    expect(after.bid).toBeGreaterThan(before.bid * 1.019);
    expect(a.quote('XAUUSD', T0)).toEqual(after);
  });

  it('refuses an account whose seed or walk options differ from the market it shares', () => {
    const market = newMarket();
    expect(() => on(market, { seed: 7 })).toThrow(RangeError);
    expect(() => on(market, { walk: { stepMs: 500 } })).toThrow(RangeError);
    on(market, { symbols: ['EURUSD', 'AUDUSD'] }); // a symbol the market did not list: it quotes it too
    expect(market.symbols()).toEqual([...SYMBOLS, 'AUDUSD']);
  });
});

describe('PaperAccount.resumeMarket (a restart of accounts sharing a market)', () => {
  /**
   * A live process: A buys EURUSD at T0 (its last change), B shocks XAUUSD and buys EURUSD at T0
   * + 60 s (its last change); both stops are crossed later, at new lows of the bid. The journals
   * end there (the process dies); a live twin keeps running to `end` for reference.
   */
  function liveAndCrash(end: number) {
    const shock = { at: T0 + 60_000, symbol: 'XAUUSD', percent: 3 };
    const path = bidPath((end - T0) / 1000, shock);
    const [k1, k2] = newLows(path, 60);
    expect(k2).toBeDefined();
    const run = (until: number | undefined) => {
      const market = newMarket();
      const a = on(market);
      const b = on(market, { balance: 20_000 });
      const start = [viaJson(a.snapshot()), viaJson(b.snapshot())];
      const journals: PaperChange[][] = [[], []];
      a.open({ request_id: 'a', symbol: 'EURUSD', type: 'buy', volume: 0.1, sl: path[k1] }, T0);
      journals[0].push(viaJson(a.changeFor('a')!));
      b.applyPriceShock(shock.symbol, shock.percent, shock.at);
      b.open({ request_id: 'b', symbol: 'EURUSD', type: 'buy', volume: 0.3, sl: path[k2] }, shock.at);
      journals[1].push(viaJson(b.changeFor('b')!));
      // Reads every 10 s, as the runtime's equity checks do: nothing of it is recorded.
      for (let t = shock.at; until !== undefined && t <= until; t += 10_000) a.account(t);
      return { a, b, start, journals };
    };
    const live = run(end);
    const crashed = run(undefined);
    const restart = (now: number, options: Partial<PaperAccountOptions> = {}) => {
      const market = newMarket();
      const accounts = crashed.start.map((snapshot, i) => {
        const account = PaperAccount.restore(snapshot, { ...OPTIONS, ...options, market });
        for (const change of crashed.journals[i]) account.applyChange(change);
        return account;
      });
      return { market, accounts, outcome: PaperAccount.resumeMarket(accounts, now) };
    };
    return { live, crashed, restart, k1, k2, path };
  }

  it('closes, at their level and step, the stops both accounts crossed while the process was down, once each', () => {
    const end = T0 + 3_600_000;
    const { live, restart, k1, k2, path } = liveAndCrash(end);
    const { market, accounts, outcome } = restart(end);
    expect(outcome).toEqual({ stepped: 3_600, skipped: 0 }); // from A's moment, the oldest
    const [a, b] = accounts;
    const expected = [
      { account: a, ticket: 100_001, k: k1, live: live.a },
      { account: b, ticket: 100_001, k: k2, live: live.b },
    ];
    for (const { account, k, live: twin } of expected) {
      const closes = account.takeAutomaticCloses();
      expect(closes).toHaveLength(1);
      expect(closes[0].deals[0]).toMatchObject({
        reason: 'sl',
        price: path[k],
        time: new Date(T0 + k * 1000).toISOString(),
      });
      expect(closes).toEqual(twin.takeAutomaticCloses());
      expect(account.positions(end)).toEqual([]);
      expect(account.account(end)).toEqual(twin.account(end));
    }
    // B's shock was taken from its record: the market quotes what the live one does.
    for (const symbol of SYMBOLS) expect(market.quote(symbol)).toEqual(live.a.quote(symbol, end));
    expect(a.snapshot()).toEqual(live.a.snapshot());
    expect(b.snapshot()).toEqual(live.b.snapshot());
  });

  it('changes nothing without downtime: the accounts are as the process left them', () => {
    const { crashed, restart } = liveAndCrash(T0 + 600_000);
    const { accounts, outcome } = restart(T0 + 60_000);
    expect(outcome.stepped).toBe(60); // A's minute up to B's moment, which the live process walked too
    for (const account of accounts) expect(account.takeAutomaticCloses()).toEqual([]);
    expect(accounts.map((a) => a.snapshot())).toEqual([crashed.a.snapshot(), crashed.b.snapshot()]);
    expect(accounts[0].positions(T0 + 60_000)).toEqual(crashed.a.positions(T0 + 60_000));
  });

  it('walks at most maxRestoreCatchUpSteps, jumping the start of a longer downtime from the newest state it passes', () => {
    const { restart } = liveAndCrash(T0 + 600_000);
    const end = T0 + 3 * 3_600_000;
    // An hour as the bound (the default, 7 days, walks the same way, longer).
    const { outcome, market } = restart(end, { maxRestoreCatchUpSteps: 3_600 });
    expect(outcome).toEqual({ stepped: 3_600, skipped: 2 * 3_600 - 60 }); // from B's moment, T0 + 60 s
    expect(market.walkStates().EURUSD.lastStep).toBe(end / 1000);
    const twin = new PriceWalk(instrumentSpec('XAUUSD'), 42, undefined, {
      ...restart(T0 + 60_000).market.walkStates().XAUUSD, // B's state, its shock included
      lastStep: end / 1000 - 3_600,
    });
    twin.advanceTo(end, 3_600);
    expect(market.walkStates().XAUUSD).toEqual(twin.state());
  });

  it('keeps the market of accounts resumed with no saved walks where it is, and refuses accounts of different markets', () => {
    expect(PaperAccount.resumeMarket([], T0)).toEqual({ stepped: 0, skipped: 0 });
    const market = newMarket();
    const fresh = [on(market), on(market)];
    expect(PaperAccount.resumeMarket(fresh, T0)).toEqual({ stepped: 0, skipped: 0 });
    expect(() => PaperAccount.resumeMarket([on(market), on(newMarket())], T0)).toThrow('share one market');
    expect(() => PaperAccount.resumeMarket([newAccount()], T0)).toThrow('share one market');
  });
});

describe('PaperMarket.catchUp', () => {
  const EURUSD = instrumentSpec('EURUSD');
  const STEP0 = T0 / 1000;
  /** The EURUSD walk state at `step`, walked from T0 without shocks, then shocked `shocks` times by 1 %. */
  function stateAt(step: number, shocks = 0): PriceWalkState {
    const walk = new PriceWalk(EURUSD, 42);
    walk.advanceTo(T0);
    walk.advanceTo(step * 1000, 1e9);
    for (let i = 0; i < shocks; i++) walk.shock(1);
    return walk.state();
  }

  it('gives each account the steps after its own moment and takes a newer recorded state when it reaches it', () => {
    const market = new PaperMarket({ symbols: ['EURUSD'], seed: 42 });
    const seen = new Map<string, number[]>();
    const listener = (name: string): MarketListener => {
      seen.set(name, []);
      const l: MarketListener = (moved, at) => {
        expect(moved).toEqual(['EURUSD']);
        seen.get(name)!.push(at / 1000 - STEP0);
      };
      market.subscribe(l);
      return l;
    };
    const old = listener('old');
    const newer = listener('newer');
    listener('live'); // subscribed, not restored: every step
    // The newer account's state at step 5 carries a shock; a stale one of step 5 without it is ignored.
    const recorded = [
      { walks: { EURUSD: stateAt(STEP0 + 2) }, listener: old },
      { walks: { EURUSD: stateAt(STEP0 + 5, 1) } },
      { walks: { EURUSD: stateAt(STEP0 + 5, 2) }, listener: newer },
    ];
    const outcome = market.catchUp(T0 + 8_000, recorded, 3_600);
    expect(outcome).toEqual({ stepped: 6, skipped: 0 });
    expect(seen.get('old')).toEqual([3, 4, 5, 6, 7, 8]);
    expect(seen.get('newer')).toEqual([6, 7, 8]);
    expect(seen.get('live')).toEqual([3, 4, 5, 6, 7, 8]);
    const twin = new PriceWalk(EURUSD, 42, undefined, stateAt(STEP0 + 5, 2));
    twin.advanceTo(T0 + 8_000);
    expect(market.walkStates().EURUSD).toEqual(twin.state());
  });

  it('starts from the newest recorded state when no account holds positions, and anchors a symbol nobody recorded', () => {
    const market = new PaperMarket({ symbols: ['EURUSD', 'GBPUSD'], seed: 42 });
    const outcome = market.catchUp(
      T0 + 10_000,
      [{ walks: { EURUSD: stateAt(STEP0 + 3) } }, { walks: { EURUSD: stateAt(STEP0 + 9) } }],
      3_600,
    );
    expect(outcome).toEqual({ stepped: 1, skipped: 0 });
    expect(market.walkStates()).toEqual({
      EURUSD: stateAt(STEP0 + 10),
      GBPUSD: expect.objectContaining({ lastStep: STEP0 + 10 }) as unknown,
    });
  });
});

describe('PriceWalk shock count', () => {
  it('counts the shocks since the last step in its state, and forgets them at the next step', () => {
    const walk = new PriceWalk(instrumentSpec('EURUSD'), 42);
    walk.advanceTo(T0);
    walk.shock(1);
    walk.shock(-1);
    expect(walk.state().shocks).toBe(2);
    expect(new PriceWalk(walk.spec, 42, undefined, viaJson(walk.state())).state()).toEqual(walk.state());
    walk.advanceTo(T0 + 1_000);
    expect(walk.state()).not.toHaveProperty('shocks');
    expect(() => new PriceWalk(walk.spec, 42, undefined, { ...walk.state(), shocks: -1 })).toThrow(
      RangeError,
    );
  });
});
