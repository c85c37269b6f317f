import { ManualClock, OwnershipLostError, Retcode, type BrokerResult } from '@app/core';
import { LeaseFence, PostgresPaperAccountStore } from '@app/state';
import { holdLease, migratedDatabase } from '@app/state/postgres/postgres-state-backend.test-helpers';
import {
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '@app/state/postgres/testing/throwaway-postgres';
import { Pool } from 'pg';
import { OwnedPaperFleet } from './owned-paper-fleet';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const OPTIONS = { symbols: ['EURUSD', 'XAUUSD'], seed: 42, stopOutLevelPercent: 50 };
const X = 'paper-x';
const Y = 'paper-y';
const SPECS = [
  { accountId: X, balance: 10_000 },
  { accountId: Y, balance: 20_000 },
];

function value<T>(result: BrokerResult<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

/**
 * Paper accounts with STATE_BACKEND=postgres (docs/scale-out.md): two processes' fleets on one
 * database, each on its own market; the lease rows are set by hand, as the ownership manager would.
 */
describe('OwnedPaperFleet: paper accounts that move with their owner', () => {
  let server: ThrowawayPostgres;
  let pool: Pool;
  let fleets: OwnedPaperFleet[];

  beforeAll(async () => {
    server = await startThrowawayPostgres();
  });

  afterAll(async () => {
    await server?.stop();
  });

  beforeEach(async () => {
    pool = new Pool({ connectionString: await migratedDatabase(server), max: 4 });
    fleets = [];
  });

  afterEach(async () => {
    // Records in flight end before the pool does (their writes may be refused: the lease moved).
    for (const fleet of fleets) await fleet.close().catch(() => undefined);
    await pool.end();
  });

  /** One process: its id, the epochs it believes it holds, its own clock and market. */
  function processFleet(processId: string, epochs: Map<string, number>, clock: ManualClock) {
    const fence = new LeaseFence({ pool, processId, epochOf: (id) => epochs.get(id) });
    const fenced: string[] = [];
    const fleet = new OwnedPaperFleet(
      OPTIONS,
      SPECS,
      (accountId) =>
        new PostgresPaperAccountStore(fence, accountId, { onFenced: (e) => fenced.push(e.accountId) }),
      clock,
    );
    fleets.push(fleet);
    return { fleet, fenced };
  }

  it('an order placed by the old owner and retried under the same request id on the new owner is answered, not placed again', async () => {
    const clockA = new ManualClock(T0);
    await holdLease(pool, X, 'proc-a', 1);
    const a = processFleet('proc-a', new Map([[X, 1]]), clockA);
    await a.fleet.adopt(X);
    const request = { request_id: 'sig-1:open', symbol: 'EURUSD', type: 'buy' as const, volume: 0.2 };
    const placed = value(await a.fleet.gateway(X).openPosition(request));
    expect(placed.retcode).toBe(Retcode.DONE);
    // Owner A dies here: nothing released, nothing closed.

    // B, started later on its own market, takes X over at a higher epoch.
    const clockB = new ManualClock(T0 + 30_000);
    await holdLease(pool, X, 'proc-b', 2);
    const b = processFleet('proc-b', new Map([[X, 2]]), clockB);
    await b.fleet.adopt(X);
    const gateway = b.fleet.gateway(X);
    const positions = value(await gateway.positions());
    expect(positions.map((p) => [p.ticket, p.symbol, p.type, p.volume, p.price_open])).toEqual([
      [placed.position, 'EURUSD', 'buy', 0.2, placed.price],
    ]);

    // The caller, who never heard A's answer, sends the order again.
    const retried = value(await gateway.openPosition(request));
    expect(retried).toEqual(placed);
    expect(value(await gateway.positions())).toHaveLength(1);
    expect(value(await gateway.account()).balance).toBe(10_000);

    // A new order on B gets the next ticket of the same book.
    const next = value(await gateway.openPosition({ ...request, request_id: 'sig-2:open' }));
    expect(next.position).toBeGreaterThan(placed.position);
    expect(value(await gateway.positions())).toHaveLength(2);
  });

  it('the old owner, still running, cannot change the book: its trade answers unknown_outcome and the new owner never sees it', async () => {
    const clock = new ManualClock(T0);
    const epochsA = new Map([[X, 1]]);
    await holdLease(pool, X, 'proc-a', 1);
    const a = processFleet('proc-a', epochsA, clock);
    await a.fleet.adopt(X);
    value(
      await a.fleet
        .gateway(X)
        .openPosition({ request_id: 'r-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }),
    );

    await holdLease(pool, X, 'proc-b', 2);
    const b = processFleet('proc-b', new Map([[X, 2]]), clock);
    await b.fleet.adopt(X);

    // A still believes it holds X at epoch 1 (paused, say): the database refuses its write.
    const stale = await a.fleet
      .gateway(X)
      .openPosition({ request_id: 'r-2', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    expect(stale).toMatchObject({ ok: false, error: { kind: 'unknown_outcome', code: 'persist_failed' } });
    expect(a.fenced).toEqual([X]);
    await expect(
      new PostgresPaperAccountStore(new LeaseFence({ pool, processId: 'proc-a', epochOf: () => 1 }), X).open({
        balance: 1,
        symbols: OPTIONS.symbols,
        seed: OPTIONS.seed,
      }),
    ).rejects.toBeInstanceOf(OwnershipLostError);

    // B's book has r-1 only; r-2 sent to B trades there, once.
    clock.advance(1_000);
    const gateway = b.fleet.gateway(X);
    expect(value(await gateway.positions())).toHaveLength(1);
    value(await gateway.openPosition({ request_id: 'r-2', symbol: 'EURUSD', type: 'buy', volume: 0.1 }));
    value(await gateway.openPosition({ request_id: 'r-2', symbol: 'EURUSD', type: 'buy', volume: 0.1 }));
    expect(value(await gateway.positions())).toHaveLength(2);
  });

  it('an account joins the live market as it stands: adopting it moves no price of the accounts already trading', async () => {
    const clockA = new ManualClock(T0);
    await holdLease(pool, X, 'proc-a', 1);
    const a = processFleet('proc-a', new Map([[X, 1]]), clockA);
    await a.fleet.adopt(X);
    clockA.advance(120_000);
    value(
      await a.fleet
        .gateway(X)
        .openPosition({ request_id: 'x-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }),
    );

    // B has traded Y on its market for a while (its walks anchored at another moment than A's).
    const clockB = new ManualClock(T0 + 7_000);
    await holdLease(pool, Y, 'proc-b', 1);
    await holdLease(pool, X, 'proc-b', 2);
    const b = processFleet(
      'proc-b',
      new Map([
        [Y, 1],
        [X, 2],
      ]),
      clockB,
    );
    await b.fleet.adopt(Y);
    clockB.advance(200_000);
    value(
      await b.fleet
        .gateway(Y)
        .openPosition({ request_id: 'y-1', symbol: 'EURUSD', type: 'sell', volume: 0.1 }),
    );
    const quoteBefore = b.fleet.market.quote('EURUSD');

    await b.fleet.adopt(X);
    expect(b.fleet.market.quote('EURUSD')).toEqual(quoteBefore);
    // X's position is valued at B's market now.
    const [position] = value(await b.fleet.gateway(X).positions());
    expect(position?.price_current).toBe(quoteBefore?.bid);
  });

  it('release forgets the account: no gateway, no longer pushed the market steps, and adopt opens it again', async () => {
    const clock = new ManualClock(T0);
    await holdLease(pool, X, 'proc-a', 1);
    const a = processFleet('proc-a', new Map([[X, 1]]), clock);
    await a.fleet.adopt(X);
    value(
      await a.fleet
        .gateway(X)
        .openPosition({ request_id: 'r-1', symbol: 'EURUSD', type: 'buy', volume: 0.1 }),
    );
    expect(a.fleet.market.subscriberCount).toBe(1);

    await a.fleet.release(X);
    expect(a.fleet.holds(X)).toBe(false);
    expect(() => a.fleet.gateway(X)).toThrow(/not open here/);
    expect(a.fleet.market.subscriberCount).toBe(0);

    // Owned again (another round gave it back): the same book.
    await a.fleet.adopt(X);
    expect(value(await a.fleet.gateway(X).positions())).toHaveLength(1);
    // A bridge account or an unknown one is not the paper fleet's.
    expect(a.fleet.has('bridge-1')).toBe(false);
  });
});
