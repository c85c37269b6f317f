import {
  OwnershipLostError,
  PaperMarket,
  Retcode,
  type PaperAccount,
  type PaperAccountOptions,
  type PaperAccountSnapshot,
  type PaperChange,
} from '@app/core';
import { Pool } from 'pg';
import { LeaseFence } from './lease-fence';
import {
  PostgresPaperAccountStore,
  type PostgresPaperAccountStoreOptions,
} from './postgres-paper-account-store';
import { holdLease, migratedDatabase } from './postgres-state-backend.test-helpers';
import { startThrowawayPostgres, type ThrowawayPostgres } from './testing/throwaway-postgres';

const ACCOUNT = 'paper-1';
const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const SYMBOLS = ['EURUSD', 'XAUUSD'];
const SEED = 42;

/** One process's view: its id and the epoch at which it believes it holds the account. */
function fenceOf(pool: Pool, processId: string, epoch: number): LeaseFence {
  return new LeaseFence({ pool, processId, epochOf: (id) => (id === ACCOUNT ? epoch : undefined) });
}

/** Each owner trades on its own process's market, as two processes do. */
function optionsOn(market: PaperMarket): PaperAccountOptions {
  return { balance: 10_000, symbols: SYMBOLS, seed: SEED, market };
}

/** The book without the walks (those of the owner's market, not restored by the next owner). */
function book(snapshot: PaperAccountSnapshot): Partial<PaperAccountSnapshot> {
  return { ...snapshot, walks: undefined };
}

/** Trades like the gateway: the trade, then its change recorded before the answer. */
async function trade(
  account: PaperAccount,
  store: PostgresPaperAccountStore,
  act: (now: number) => { request_id: string; retcode: number },
  now: number,
): Promise<{ request_id: string; retcode: number; position?: number }> {
  const result = act(now);
  const change = account.changeFor(result.request_id);
  if (change === undefined) throw new Error(`no change for ${result.request_id}`);
  await store.record(change);
  return result;
}

describe('PostgresPaperAccountStore: a paper account book that moves with its owner', () => {
  let server: ThrowawayPostgres;
  let pool: Pool;

  beforeAll(async () => {
    server = await startThrowawayPostgres();
  });

  afterAll(async () => {
    await server?.stop();
  });

  beforeEach(async () => {
    pool = new Pool({ connectionString: await migratedDatabase(server), max: 4 });
  });

  afterEach(async () => {
    await pool.end();
  });

  const rows = async () => ({
    books: (
      await pool.query<{ account_id: string; last_change: string; snapshot: unknown }>(
        'SELECT * FROM paper_books',
      )
    ).rows,
    changes: (
      await pool.query<{ number: string; change: unknown }>(
        'SELECT number, change FROM paper_changes ORDER BY number',
      )
    ).rows,
  });

  const storeOf = (processId: string, epoch: number, options: PostgresPaperAccountStoreOptions = {}) =>
    new PostgresPaperAccountStore(fenceOf(pool, processId, epoch), ACCOUNT, options);

  /** Owner A opens a fresh book and trades: two opens, a partial close; then it "dies" (never closes). */
  async function ownerATrades(options: PostgresPaperAccountStoreOptions = {}) {
    await holdLease(pool, ACCOUNT, 'proc-a', 1);
    const store = storeOf('proc-a', 1, options);
    const account = await store.open(optionsOn(new PaperMarket({ symbols: SYMBOLS, seed: SEED })));
    const first = await trade(
      account,
      store,
      (now) => account.open({ request_id: 'r-1', symbol: 'EURUSD', type: 'buy', volume: 0.3 }, now),
      T0,
    );
    await trade(
      account,
      store,
      (now) =>
        account.open({ request_id: 'r-2', symbol: 'XAUUSD', type: 'sell', volume: 0.1, sl: 99_999 }, now),
      T0 + 1_000,
    );
    await trade(
      account,
      store,
      (now) => account.close({ request_id: 'r-3', ticket: first.position ?? 0, volume: 0.1 }, now),
      T0 + 2_000,
    );
    return { store, account, first };
  }

  it('a book saved by one owner is loaded whole by the next, and a retried request id is answered, not traded', async () => {
    const a = await ownerATrades();
    const before = a.account.snapshot();
    expect(before.positions).toHaveLength(2);
    expect(before.lastChange).toBe(3);

    // Owner B takes the account over (a higher epoch) on its own market, and opens the book.
    await holdLease(pool, ACCOUNT, 'proc-b', 2);
    const opened: unknown[] = [];
    const b = storeOf('proc-b', 2, { onOpened: (found) => opened.push(found) });
    const account = await b.open(optionsOn(new PaperMarket({ symbols: SYMBOLS, seed: SEED })));
    expect(book(account.snapshot())).toEqual(book(before));
    expect(opened).toEqual([{ snapshotChange: 0, replayed: 3, dropped: 0, lastChange: 3 }]);
    // The open compacted: one snapshot at change 3, no change rows left to replay.
    const after = await rows();
    expect(after.changes).toEqual([]);
    expect(after.books.map((r) => Number(r.last_change))).toEqual([3]);

    // The old owner's request, sent again: the stored answer, no second position.
    const again = account.open(
      { request_id: 'r-1', symbol: 'EURUSD', type: 'buy', volume: 0.3 },
      T0 + 10_000,
    );
    expect(again).toEqual(a.first);
    expect(account.positions(T0 + 10_000)).toHaveLength(2);
    expect(account.lastChange).toBe(3);
  });

  it('refuses a write with a stale epoch (OwnershipLostError, told to onFenced), and it changes nothing', async () => {
    const fenced: OwnershipLostError[] = [];
    const a = await ownerATrades({ onFenced: (error) => fenced.push(error) });
    await holdLease(pool, ACCOUNT, 'proc-b', 2);
    const b = storeOf('proc-b', 2);
    await b.open(optionsOn(new PaperMarket({ symbols: SYMBOLS, seed: SEED })));
    const saved = await rows();

    // The old owner, still running at epoch 1, trades on: its record is refused.
    const result = a.account.open(
      { request_id: 'r-4', symbol: 'EURUSD', type: 'buy', volume: 0.1 },
      T0 + 3_000,
    );
    expect(result.retcode).toBe(Retcode.DONE);
    const change = a.account.changeFor('r-4') as PaperChange;
    const outcome = await a.store.record(change).then(
      () => 'written',
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(OwnershipLostError);
    expect(outcome).toMatchObject({ accountId: ACCOUNT, where: 'database' });
    expect(fenced).toHaveLength(1);
    expect(await rows()).toEqual(saved);

    // Nor can the old owner open the book again.
    await expect(
      storeOf('proc-a', 1).open(optionsOn(new PaperMarket({ symbols: SYMBOLS, seed: SEED }))),
    ).rejects.toBeInstanceOf(OwnershipLostError);
    expect(await rows()).toEqual(saved);
  });

  it('snapshots while trading every compactEvery records; the next owner gets the snapshot plus the changes after it', async () => {
    const a = await ownerATrades({ compactEvery: 2 });
    await a.store.close();
    const saved = await rows();
    // The snapshot taken after the second record holds changes 1-2 (maybe 3, taken a little later).
    expect(saved.books).toHaveLength(1);
    const snapshotAt = Number(saved.books[0]?.last_change);
    expect(snapshotAt).toBeGreaterThanOrEqual(2);
    expect(saved.changes.map((r) => Number(r.number)).every((n) => n > snapshotAt)).toBe(true);

    await holdLease(pool, ACCOUNT, 'proc-b', 2);
    const account = await storeOf('proc-b', 2).open(
      optionsOn(new PaperMarket({ symbols: SYMBOLS, seed: SEED })),
    );
    expect(book(account.snapshot())).toEqual(book(a.account.snapshot()));
  });

  it('stops at a missing change, and deletes what lies beyond it, so a later change of that number is not mixed with it', async () => {
    const a = await ownerATrades();
    // Change 2's row is lost (its trade was answered unknown_outcome): change 3 is beyond a gap.
    await pool.query('DELETE FROM paper_changes WHERE number = 2');
    await holdLease(pool, ACCOUNT, 'proc-b', 2);
    const found: unknown[] = [];
    const b = storeOf('proc-b', 2, { onOpened: (f) => found.push(f) });
    const account = await b.open(optionsOn(new PaperMarket({ symbols: SYMBOLS, seed: SEED })));
    expect(found).toEqual([{ snapshotChange: 0, replayed: 1, dropped: 1, lastChange: 1 }]);
    expect(account.positions(T0 + 5_000).map((p) => p.ticket)).toEqual([a.first.position]);
    expect((await rows()).changes).toEqual([]);

    // The retry of r-2 trades now (the book never knew it), as change 2; the next owner sees that one.
    await trade(
      account,
      b,
      (now) => account.open({ request_id: 'r-2', symbol: 'XAUUSD', type: 'sell', volume: 0.1 }, now),
      T0 + 6_000,
    );
    await holdLease(pool, ACCOUNT, 'proc-c', 3);
    const c = await storeOf('proc-c', 3).open(optionsOn(new PaperMarket({ symbols: SYMBOLS, seed: SEED })));
    expect(book(c.snapshot())).toEqual(book(account.snapshot()));
    expect(c.positions(T0 + 7_000)).toHaveLength(2);
  });

  it('close waits for the records in flight and writes nothing after them', async () => {
    const a = await ownerATrades();
    const result = a.account.open(
      { request_id: 'r-9', symbol: 'EURUSD', type: 'buy', volume: 0.1 },
      T0 + 3_000,
    );
    const recording = a.store.record(a.account.changeFor(result.request_id) as PaperChange);
    await a.store.close();
    await recording;
    expect((await rows()).changes.map((r) => Number(r.number))).toEqual([1, 2, 3, 4]);
    await expect(a.store.record(a.account.changeFor('r-9') as PaperChange)).rejects.toThrow(/not open/);
  });
});
