import { PaperAccount, type PaperAccountSnapshot, type PaperChange } from './paper-account';
import { newAccount, T0 } from './paper-test-helpers';

const SYMBOLS = ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'];
const OPTIONS = { balance: 10_000, symbols: SYMBOLS, seed: 42 };
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
/** Reads move the walks without a change, so a replay is compared without them. */
const withoutWalks = (snapshot: PaperAccountSnapshot) => ({ ...snapshot, walks: {} });

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Random opens with tight stops on both sides, partial closes, shocks up and down and clock
 * jumps. After every call: no open position has a stop the current quote crossed, the margin
 * level is at or above stop-out; every sl/tp deal is at its level; the changes are numbered
 * 1, 2, 3... and replaying them on the starting snapshot gives the live account.
 */
describe('PaperAccount stops and journal (randomised)', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}`, () => {
      const r = rng(seed);
      const account = newAccount({ stopOutLevelPercent: 50 });
      let now = T0;
      account.account(now);
      const start = viaJson(account.snapshot());
      const journal: PaperChange[] = [];
      /** What the gateway records after a call: the closes it made, then the trade's own change. */
      const drain = (requestId?: string) => {
        journal.push(...account.takeAutomaticCloses().map(viaJson));
        const trade = requestId === undefined ? undefined : account.changeFor(requestId);
        if (trade !== undefined && trade.number! > (journal.at(-1)?.number ?? 0))
          journal.push(viaJson(trade));
      };
      const stops = new Map<number, { sl: number; tp: number }>();
      for (let step = 0; step < 300; step++) {
        const pick = r();
        const symbol = SYMBOLS[Math.floor(r() * SYMBOLS.length)];
        if (pick < 0.35) {
          const q = account.quote(symbol, now)!;
          drain();
          const side = r() < 0.5 ? 'buy' : 'sell';
          const gap = (q.ask - q.bid) * (1 + Math.floor(r() * 6));
          const sl = r() < 0.8 ? (side === 'buy' ? q.bid - gap : q.ask + gap) : undefined;
          const tp = r() < 0.8 ? (side === 'buy' ? q.ask + gap : q.bid - gap) : undefined;
          const id = `o-${seed}-${step}`;
          const volume = [0.01, 0.1, 1, 5][Math.floor(r() * 4)];
          const res = account.open({ request_id: id, symbol, type: side, volume, sl, tp }, now);
          drain(id);
          if (res.retcode === 10009) {
            const p = account.positions(now).find((x) => x.ticket === res.position);
            if (p) stops.set(p.ticket, { sl: p.sl, tp: p.tp });
            drain();
          }
        } else if (pick < 0.45) {
          const open = account.positions(now);
          drain();
          if (open.length > 0) {
            const p = open[Math.floor(r() * open.length)];
            const id = `c-${seed}-${step}`;
            const partial = p.volume > 0.01 && r() < 0.5 ? { volume: 0.01 } : {};
            account.close({ request_id: id, ticket: p.ticket, ...partial }, now);
            drain(id);
          }
        } else if (pick < 0.6) {
          account.applyPriceShock(symbol, (r() - 0.5) * 2, now);
          drain();
        } else {
          now += Math.floor(r() * 20_000);
          account.account(now);
          drain();
        }
        for (const p of account.positions(now)) {
          const q = account.quote(p.symbol, now)!;
          if (p.type === 'buy') {
            if (p.sl > 0) expect(q.bid).toBeGreaterThan(p.sl);
            if (p.tp > 0) expect(q.bid).toBeLessThan(p.tp);
          } else {
            if (p.sl > 0) expect(q.ask).toBeLessThan(p.sl);
            if (p.tp > 0) expect(q.ask).toBeGreaterThan(p.tp);
          }
        }
        drain();
        const info = account.account(now);
        drain();
        if (info.margin > 0) expect((info.equity / info.margin) * 100).toBeGreaterThanOrEqual(50);
        if (step % 50 === 49) {
          const replayed = PaperAccount.restore(start, { ...OPTIONS, stopOutLevelPercent: 50 });
          for (const change of journal) replayed.applyChange(change);
          expect(withoutWalks(replayed.snapshot())).toEqual(withoutWalks(account.snapshot()));
        }
      }
      for (const [ticket, levels] of stops) {
        for (const d of account.deals(ticket, now)) {
          if (d.reason === 'sl') expect(d.price).toBe(levels.sl);
          if (d.reason === 'tp') expect(d.price).toBe(levels.tp);
        }
      }
      expect(journal.map((c) => c.number)).toEqual(journal.map((_, i) => i + 1));
      expect(account.lastChange).toBe(journal.length);
    });
  }
});

/**
 * The crash window after the last record: the live process keeps reading (once a second, as the
 * runtime's equity checks do), its walks step and stops close in memory, then it dies before any
 * of that is recorded. The restarted account starts from the walks of the last change and its
 * first call walks the whole time since, step by step, even past `maxCatchUpSteps` (an hour), so
 * it quotes and closes what the live one did.
 */
describe('PaperAccount restore: the first call walks the whole downtime', () => {
  /** 20 positions with staggered stops, journaled; then reads every second for `gapMs`, none journaled. */
  function liveThenCrash(gapMs: number, options: Partial<Parameters<typeof newAccount>[0]> = {}) {
    const live = newAccount();
    let now = T0;
    live.account(now);
    const start = live.snapshot();
    const journal: PaperChange[] = [];
    const q = live.quote('EURUSD', now)!;
    for (let i = 0; i < 20; i++) {
      const id = `o-${i}`;
      const buy = i % 2 === 1;
      const sl = buy ? q.bid - 0.0005 - i * 0.0001 : q.ask + 0.0005 + i * 0.0001;
      live.open({ request_id: id, symbol: 'EURUSD', type: buy ? 'buy' : 'sell', volume: 1, sl }, now);
      journal.push(viaJson(live.changeFor(id)!));
    }
    const end = now + gapMs;
    for (; now < end; now += 1000) live.account(now);
    live.account(end);
    const lost = live.takeAutomaticCloses(); // in memory only: the crash comes before their records
    const restarted = PaperAccount.restore(viaJson(start), { ...OPTIONS, ...options });
    for (const change of journal) restarted.applyChange(change);
    return { live, restarted, end, lost };
  }

  for (const minutes of [1, 30, 59, 61, 180]) {
    it(`gives the live account, quotes and automatic closes included, after ${minutes} min without a record`, () => {
      const { live, restarted, end, lost } = liveThenCrash(minutes * 60_000);
      expect(restarted.account(end)).toEqual(live.account(end));
      expect(restarted.takeAutomaticCloses().map((c) => c.deals)).toEqual(lost.map((c) => c.deals));
      for (const symbol of SYMBOLS) expect(restarted.quote(symbol, end)).toEqual(live.quote(symbol, end));
      expect(withoutWalks(restarted.snapshot())).toEqual(withoutWalks(live.snapshot()));
      expect(restarted.snapshot().walks).toEqual(live.snapshot().walks);
    });
  }

  it('walks only the first call that far: a later long gap jumps as it does live', () => {
    const { live, restarted, end } = liveThenCrash(61 * 60_000);
    restarted.account(end);
    const later = end + 5 * 3_600_000; // no call for 5 hours, in both
    expect(restarted.account(later)).toEqual(live.account(later));
    expect(restarted.snapshot().walks).toEqual(live.snapshot().walks);
  });

  it('stops at maxRestoreCatchUpSteps (a restart after a very long stop jumps the rest, like any long gap)', () => {
    const { live, restarted, end } = liveThenCrash(61 * 60_000, { maxRestoreCatchUpSteps: 3600 });
    restarted.account(end);
    // 3,660 steps due, 3,600 walked: a walk 60 steps short of the live one.
    expect(restarted.snapshot().walks.EURUSD).not.toEqual(live.snapshot().walks.EURUSD);
    expect(restarted.snapshot().walks.EURUSD.lastStep).toBe(live.snapshot().walks.EURUSD.lastStep);
    expect(() => newAccount({ maxRestoreCatchUpSteps: 0 })).toThrow(RangeError);
  });
});
