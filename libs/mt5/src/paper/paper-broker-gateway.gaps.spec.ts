import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ManualClock,
  PaperAccount,
  Retcode,
  type BrokerResult,
  type PaperAccountSnapshot,
  type PaperChange,
  type TradeResult,
} from '@app/core';
import { FilePaperAccountStore, PAPER_JOURNAL_FILE, planPaperReplay } from './file-paper-account-store';
import { PaperBrokerGateway, type PaperAccountPersistence } from './paper-broker-gateway';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const OPTIONS = { balance: 10_000, symbols: ['EURUSD', 'USDJPY'], seed: 42 };
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** The lowest EURUSD bid of the next 10 minutes and its time, from a twin account with the same seed. */
function lowestBidAhead(): { bid: number; at: number } {
  const twin = new PaperAccount(OPTIONS);
  twin.quote('EURUSD', T0); // anchors its walks where the tested account anchors them
  const bids = Array.from({ length: 600 }, (_, k) => twin.quote('EURUSD', T0 + (k + 1) * 1000)!.bid);
  const bid = Math.min(...bids);
  return { bid, at: T0 + (bids.indexOf(bid) + 1) * 1000 };
}

/**
 * A change whose record "fails" and a later one whose record lands, then kill -9 before the
 * failed one is recorded again: the restart must find the account as it was before the gap
 * (never the later change's totals on top of the earlier state), and the later trade, answered
 * `unknown_outcome`, is executed again by its retry, once.
 */
describe('PaperBrokerGateway with FilePaperAccountStore: a gap in the journal', () => {
  let dir: string;
  let stores: FilePaperAccountStore[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'paper-gaps-'));
    stores = [];
  });
  afterEach(async () => {
    for (const store of stores.reverse()) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The store as the app opens it, behind a switch that makes the records of automatic closes fail. */
  async function start(clock: ManualClock) {
    const store = new FilePaperAccountStore(join(dir, 'state'));
    stores.push(store);
    const account = await store.open(OPTIONS);
    const disk = { failCloses: false };
    const persistence: PaperAccountPersistence = {
      record: (change) =>
        disk.failCloses && change.request === null ? Promise.reject(new Error('EIO')) : store.record(change),
      close: () => store.close(),
    };
    return { store, account, disk, gateway: new PaperBrokerGateway(account, clock, persistence) };
  }

  async function journalNumbers(): Promise<number[]> {
    const text = await readFile(join(dir, 'state', PAPER_JOURNAL_FILE), 'utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { change: PaperChange }).change.number!);
  }

  /**
   * Change 1: a buy with a stop loss. Change 2: the stop loss closes it during a read; its record
   * fails. Change 3: a trade on another symbol; the close's retry fails again, the trade's own
   * record lands, and the trade is answered unknown_outcome.
   */
  async function closeLostThenTradeSaved() {
    const clock = new ManualClock(T0);
    const live = await start(clock);
    const { bid: sl } = lowestBidAhead();
    const opened = await live.gateway.openPosition({
      request_id: 'o-1',
      symbol: 'EURUSD',
      type: 'buy',
      volume: 1,
      sl,
    });
    expect(opened).toMatchObject({ ok: true, value: { position: 100_001 } });
    const afterOpen = viaJson(live.account.snapshot()); // the live account right after change 1
    clock.advance(600_000);
    live.disk.failCloses = true;
    expect(await live.gateway.account()).toMatchObject({ ok: true, value: { margin: 0 } });
    expect(live.account.snapshot().balance).toBeLessThan(afterOpen.balance); // the loss is booked in memory
    const o2 = { request_id: 'o-2', symbol: 'USDJPY', type: 'buy' as const, volume: 0.1 };
    expect(await live.gateway.openPosition(o2)).toMatchObject({
      ok: false,
      error: { kind: 'unknown_outcome', code: 'persist_failed', message: expect.stringContaining('EIO') },
    });
    expect(live.account.lastChange).toBe(3);
    return { clock, live, afterOpen, o2 };
  }

  it('restarts at the account as it was before the lost change, and the later trade retried by its id executes once', async () => {
    const { clock, live, afterOpen, o2 } = await closeLostThenTradeSaved();
    expect(await journalNumbers()).toEqual([1, 3]); // change 2 never reached the disk
    // kill -9 now: the first store is never closed.

    const restarted = await start(clock);
    expect(restarted.store.opened).toMatchObject({
      replayed: 1,
      dropped: 1,
      missingChange: 2,
      lastChange: 1,
    });
    // Exactly the live account as of change 1: the position open, the balance without its loss,
    // o-2 unknown. Not change 3's totals (the loss) on top of an open position.
    expect(restarted.account.snapshot()).toEqual(afterOpen);
    expect(restarted.account.snapshot().positions.map((p) => p.ticket)).toEqual([100_001]);

    // The restarted account walks on from change 1's walks over the downtime: the same stop loss
    // closes at the same step and price, so the restart redoes the lost close itself.
    expect(await restarted.gateway.positions()).toEqual({ ok: true, value: [] });
    expect(await restarted.gateway.deals(100_001)).toEqual(await live.gateway.deals(100_001));
    expect(restarted.account.snapshot().balance).toBe(live.account.snapshot().balance);

    // The caller was told unknown_outcome for o-2 and retries it with the same id: the restored
    // account does not know the id, so it executes it, once; a second retry gets the stored answer.
    const retried = await restarted.gateway.openPosition(o2);
    expect(retried).toMatchObject({ ok: true, value: { retcode: Retcode.DONE, position: 100_003 } });
    expect(await restarted.gateway.openPosition(o2)).toEqual(retried);
    expect(restarted.account.positions(clock.now()).map((p) => p.symbol)).toEqual(['USDJPY']);
    // Same clock, same walk: the restarted account is now the live one, in full.
    expect(restarted.account.snapshot()).toEqual(live.account.snapshot());
  });

  it('fills the gap once the lost change is recorded again: a restart then finds the whole live account', async () => {
    const { clock, live, o2 } = await closeLostThenTradeSaved();
    live.disk.failCloses = false;
    expect(await live.gateway.health()).toEqual({ ok: true, value: { connected: true } }); // the close's retry lands
    expect(await journalNumbers()).toEqual([1, 3, 2]); // on disk out of order: the replay orders by number
    // o-2's retry answers its stored fill: every change up to its own is now on disk.
    expect(await live.gateway.openPosition(o2)).toMatchObject({
      ok: true,
      value: { retcode: Retcode.DONE, position: 100_003 },
    });
    // kill -9 now.

    const restarted = await start(clock);
    expect(restarted.store.opened).toMatchObject({ replayed: 3, dropped: 0, lastChange: 3 });
    expect(restarted.account.snapshot()).toEqual(live.account.snapshot());
    expect(await restarted.gateway.openPosition(o2)).toMatchObject({
      ok: true,
      value: { position: 100_003 },
    });
    expect(restarted.account.positions(clock.now())).toHaveLength(1);
  });
});

/** A persistence whose records complete (or fail) only when the test says so, in any order. */
class ManualPersistence implements PaperAccountPersistence {
  readonly pending: { change: PaperChange; resolve: () => void; reject: (error: Error) => void }[] = [];
  readonly saved: PaperChange[] = [];

  record(change: PaperChange): Promise<void> {
    const copy = viaJson(change);
    return new Promise<void>((resolve, reject) =>
      this.pending.push({
        change: copy,
        resolve: () => {
          this.saved.push(copy);
          resolve();
        },
        reject,
      }),
    );
  }

  async close(): Promise<void> {}

  take(number: number) {
    const i = this.pending.findIndex((p) => p.change.number === number);
    expect(i).toBeGreaterThanOrEqual(0);
    return this.pending.splice(i, 1)[0];
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PaperBrokerGateway answers a trade only once every earlier change is durable', () => {
  function twoConcurrentTrades() {
    const persistence = new ManualPersistence();
    const account = new PaperAccount(OPTIONS);
    const gateway = new PaperBrokerGateway(account, new ManualClock(T0), persistence);
    const answers: BrokerResult<TradeResult>[] = [];
    const a = gateway.openPosition({ request_id: 'o-a', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    const b = gateway.openPosition({ request_id: 'o-b', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    void b.then((r) => answers.push(r));
    // Both records were issued at once (group commit), before either completed.
    expect(persistence.pending.map((p) => p.change.number)).toEqual([1, 2]);
    return { persistence, gateway, a, b, answers };
  }

  it('waits for an earlier record still in flight when its own lands first, and answers ok once it lands', async () => {
    const { persistence, a, b, answers } = twoConcurrentTrades();
    persistence.take(2).resolve();
    await settle();
    expect(answers).toEqual([]); // b's record is on disk, but a's may still fail
    persistence.take(1).resolve();
    expect(await a).toMatchObject({ ok: true, value: { position: 100_001 } });
    expect(await b).toMatchObject({ ok: true, value: { position: 100_002 } });
  });

  it('answers unknown_outcome when that earlier record then fails, and ok after the retry re-records it', async () => {
    const { persistence, gateway, a, b } = twoConcurrentTrades();
    persistence.take(2).resolve();
    await settle();
    persistence.take(1).reject(new Error('EIO'));
    expect(await a).toMatchObject({ ok: false, error: { kind: 'unknown_outcome' } });
    expect(await b).toMatchObject({
      ok: false,
      error: { kind: 'unknown_outcome', message: expect.stringContaining('earlier') },
    });
    // b's retry: a repeat (no new change), but it records a's change again, the same one.
    const retry = gateway.openPosition({ request_id: 'o-b', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    const again = persistence.take(1);
    expect(again.change).toMatchObject({ number: 1, nextOrder: 100_002, request: { requestId: 'o-a' } });
    again.resolve();
    expect(await retry).toMatchObject({ ok: true, value: { position: 100_002 } });
    expect(persistence.saved.map((c) => c.number)).toEqual([2, 1]);
  });
});

/**
 * The invariant behind dropping what lies beyond a gap, under random failures, random completion
 * order and concurrency: at any kill, (1) the replay of what is durable is the account built from
 * changes 1..L exactly as the live account made them; (2) every trade answered with its result is
 * in it; (3) every trade the restarted account does not know was answered unknown_outcome (or not
 * at all), and its retry executes it once.
 */
describe('PaperBrokerGateway: what a kill at any moment leaves behind (randomised)', () => {
  class RandomDisk implements PaperAccountPersistence {
    /** Every record issued, first attempt of each number first: the changes as the live account made them. */
    readonly issued = new Map<number, PaperChange>();
    /** Durable records, in completion order, as a journal would hold them. */
    readonly durable: { seq: number; change: PaperChange }[] = [];
    constructor(private readonly random: () => number) {}
    async record(change: PaperChange): Promise<void> {
      const copy = viaJson(change);
      if (this.issued.has(copy.number!)) expect(copy).toEqual(this.issued.get(copy.number!));
      else this.issued.set(copy.number!, copy);
      const fails = this.random() < 0.15;
      for (let i = Math.floor(this.random() * 4); i > 0; i--) await settle();
      if (fails) throw new Error('EIO');
      this.durable.push({ seq: this.durable.length + 1, change: copy });
    }
    async close(): Promise<void> {}
  }

  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }

  for (let seed = 1; seed <= 12; seed++) {
    it(`seed ${seed}`, async () => {
      const random = rng(seed);
      const clock = new ManualClock(T0);
      const live = new PaperAccount({ ...OPTIONS, stopOutLevelPercent: 50 });
      const start: PaperAccountSnapshot = viaJson(live.snapshot());
      const disk = new RandomDisk(random);
      const gateway = new PaperBrokerGateway(live, clock, disk);
      const requests = new Map<string, Parameters<PaperBrokerGateway['openPosition']>[0]>();
      const answers: [string, BrokerResult<TradeResult>][] = [];
      let killed = false;
      let n = 0;
      const calls: Promise<unknown>[] = [];
      const steps = 40 + Math.floor(random() * 40);
      for (let step = 0; step < steps; step++) {
        const pick = random();
        if (pick < 0.55) {
          const symbol = random() < 0.5 ? 'EURUSD' : 'USDJPY';
          const q = live.quote(symbol, clock.now())!;
          const side = random() < 0.5 ? ('buy' as const) : ('sell' as const);
          const gap = (q.ask - q.bid) * (1 + Math.floor(random() * 8));
          const request = {
            request_id: `o-${++n}`,
            symbol,
            type: side,
            volume: [0.1, 1, 3][Math.floor(random() * 3)],
            sl: side === 'buy' ? q.bid - gap : q.ask + gap,
          };
          requests.set(request.request_id, request);
          // A retry of an earlier request now and then, as a caller does after unknown_outcome.
          const earlier =
            random() < 0.2 ? [...requests.values()][Math.floor(random() * requests.size)] : request;
          calls.push(
            gateway.openPosition(earlier).then((r) => {
              if (!killed) answers.push([earlier.request_id, r]);
            }),
          );
        } else if (pick < 0.7) {
          calls.push(gateway.applyPriceShock(random() < 0.5 ? 'EURUSD' : 'USDJPY', (random() - 0.5) * 1.5));
        } else if (pick < 0.9) {
          clock.advance(Math.floor(random() * 30_000));
          calls.push(gateway.account());
        } else {
          await Promise.all(calls.splice(0));
        }
        if (random() < 0.3) await settle();
      }
      // kill -9: what is durable now is all a restart finds; answers from now on never reach anyone.
      killed = true;
      const durable = viaJson(disk.durable);
      const issued = new Map(disk.issued);

      const plan = planPaperReplay(durable, 0, 0, 'journal');
      const restored = PaperAccount.restore(start, OPTIONS);
      for (const change of plan.changes) restored.applyChange(change);
      // (1) The live account as of change L, built from the changes as they were made.
      const reference = PaperAccount.restore(start, OPTIONS);
      for (let k = 1; k <= plan.changes.length; k++) reference.applyChange(issued.get(k)!);
      expect(restored.snapshot()).toEqual(reference.snapshot());
      expect(restored.lastChange).toBe(plan.changes.length);

      const known = new Map(restored.snapshot().requests.map((r) => [r.requestId, r.result]));
      for (const [id, answer] of answers) {
        // (2) Answered with its result: it is in the restored account, with that result.
        if (answer.ok) expect(known.get(id)).toEqual(answer.value);
        // (3) Not in the restored account: it was not answered with a result.
        if (!known.has(id)) expect(answer).toMatchObject({ ok: false, error: { kind: 'unknown_outcome' } });
      }
      // Every trade the restart forgot is executed again by its retry, once.
      const after = new PaperBrokerGateway(restored, clock);
      for (const [id, request] of requests) {
        if (known.has(id)) continue;
        const first = await after.openPosition(request);
        expect(first.ok).toBe(true);
        const changes = restored.lastChange;
        expect(await after.openPosition(request)).toEqual(first);
        expect(restored.lastChange).toBe(changes); // the second retry made no change: executed once
      }
      await Promise.all(calls);
    });
  }
});
