import { ManualScheduler, OwnershipManager, silentLogger, type Lease } from '@app/core';
import { Pool } from 'pg';
import { PostgresLeaseStore } from './postgres-lease-store';
import { migrate } from './migrations';
import { startThrowawayPostgres, type ThrowawayPostgres } from './testing/throwaway-postgres';

const TTL = 60_000;
const PROCESSES = ['p1', 'p2', 'p3'] as const;

let server: ThrowawayPostgres;

beforeAll(async () => {
  server = await startThrowawayPostgres();
});

afterAll(async () => {
  await server?.stop();
});

/** A fresh, migrated database of the server: its url. */
async function migratedDatabase(): Promise<string> {
  const url = await server.newDatabase();
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  return url;
}

/** One database, three processes (a pool and a store each), and an admin pool for the test's own looks. */
class Setup {
  private constructor(
    readonly admin: Pool,
    readonly pools: Pool[],
    readonly stores: Record<(typeof PROCESSES)[number], PostgresLeaseStore>,
  ) {}

  static async create(accountCount: number): Promise<Setup> {
    const url = await migratedDatabase();
    const admin = new Pool({ connectionString: url, max: 2 });
    await admin.query(
      `INSERT INTO accounts (id, config) SELECT 'acc-' || lpad(i::text, 3, '0'), '{}'::jsonb
       FROM generate_series(0, $1 - 1) AS i`,
      [accountCount],
    );
    const pools = PROCESSES.map(() => new Pool({ connectionString: url, max: 4 }));
    const [p1, p2, p3] = pools.map((pool) => new PostgresLeaseStore(pool));
    return new Setup(admin, pools, { p1: p1, p2: p2, p3: p3 });
  }

  /** The database's view: account -> live owner. */
  async liveOwners(): Promise<Map<string, string>> {
    const { rows } = await this.admin.query<{ account_id: string; owner: string }>(
      'SELECT account_id, owner FROM leases WHERE owner IS NOT NULL AND expires_at > now()',
    );
    return new Map(rows.map((row) => [row.account_id, row.owner]));
  }

  /** Lets a process's leases run out now, as a paused process's would. */
  async expire(owner: string, accountIds?: string[]): Promise<void> {
    await this.admin.query(
      `UPDATE leases SET expires_at = now() - interval '1 millisecond'
       WHERE owner = $1 AND ($2::text[] IS NULL OR account_id = ANY($2))`,
      [owner, accountIds ?? null],
    );
  }

  async end(): Promise<void> {
    await Promise.all([this.admin, ...this.pools].map((pool) => pool.end()));
  }
}

const ids = (leases: readonly Lease[]) => leases.map((lease) => lease.accountId).sort();

describe('PostgresLeaseStore', () => {
  let setup: Setup;

  afterEach(async () => {
    await setup?.end();
  });

  it('announce counts the live processes (not the expired nor the departed) and the accounts', async () => {
    setup = await Setup.create(7);
    const { p1, p2, p3 } = setup.stores;
    expect(await p1.announce('p1', TTL)).toEqual({ liveProcesses: 1, accounts: 7 });
    expect(await p2.announce('p2', TTL)).toMatchObject({ liveProcesses: 2, accounts: 7 });
    expect(await p3.announce('p3', TTL)).toMatchObject({ liveProcesses: 3, accounts: 7 });
    await setup.admin.query(`UPDATE processes SET expires_at = now() - interval '1 second' WHERE id = 'p2'`);
    await p3.leave('p3');
    expect(await p1.announce('p1', TTL)).toEqual({ liveProcesses: 1, accounts: 7 });
  });

  it("announce says when another process's announcement or lease runs out next, on the database's clock", async () => {
    setup = await Setup.create(2);
    const { p1, p2 } = setup.stores;
    await p1.announce('p1', TTL);
    await p1.acquire('p1', 2, TTL);
    // Only p1's own announcement and leases run: nothing of another process.
    expect((await p1.announce('p1', TTL)).nextExpiryInMs).toBeUndefined();
    const seen = await p2.announce('p2', TTL);
    expect(seen.nextExpiryInMs).toBeGreaterThan(TTL - 2_000);
    expect(seen.nextExpiryInMs).toBeLessThanOrEqual(TTL);
    // One of p1's leases runs out in 700 ms: that is the next change p2 can act on.
    await setup.admin.query(
      `UPDATE leases SET expires_at = now() + interval '700 milliseconds' WHERE account_id = (SELECT min(account_id) FROM leases)`,
    );
    const soon = await p2.announce('p2', TTL);
    expect(soon.nextExpiryInMs).toBeGreaterThan(0);
    expect(soon.nextExpiryInMs).toBeLessThanOrEqual(700);
  });

  it('three processes acquiring 300 accounts at once, in rounds: no account ever given to two', async () => {
    setup = await Setup.create(300);
    const held = new Map<string, Map<string, number>>(PROCESSES.map((p) => [p, new Map()]));
    /** Every (account, epoch) handed out, with its taker: one taker each, epochs rising. */
    const handedOut = new Map<string, string>();
    const highestEpoch = new Map<string, number>();
    const problems: string[] = [];

    for (let round = 0; round < 12; round++) {
      // Every process asks twice at once (two connections of its pool), for more than there is.
      const asks = PROCESSES.flatMap((p) => [p, p]).map(async (p) => ({
        p,
        gained: await setup.stores[p].acquire(p, 60 + round * 7, TTL),
      }));
      for (const { p, gained } of await Promise.all(asks))
        for (const lease of gained) {
          const key = `${lease.accountId}@${lease.epoch}`;
          if (handedOut.has(key)) problems.push(`${key} given to ${handedOut.get(key)} and ${p}`);
          handedOut.set(key, p);
          if (lease.epoch <= (highestEpoch.get(lease.accountId) ?? 0))
            problems.push(`${key} not above ${highestEpoch.get(lease.accountId)}`);
          highestEpoch.set(lease.accountId, lease.epoch);
          held.get(p)!.set(lease.accountId, lease.epoch);
        }
      // They asked for more than there is: every account has a live owner now.
      expect((await setup.liveOwners()).size).toBe(300);

      // Renewals, concurrent with each other: what each still holds must be disjoint.
      const renewals = await Promise.all(
        PROCESSES.map(async (p) => {
          const mine = [...held.get(p)!].map(([accountId, epoch]) => ({ accountId, epoch }));
          const result = await setup.stores[p].renew(p, mine, TTL);
          for (const lease of result.lost) held.get(p)!.delete(lease.accountId);
          return result.renewed;
        }),
      );
      const renewedBy = new Map<string, number>();
      for (const lease of renewals.flat())
        renewedBy.set(lease.accountId, (renewedBy.get(lease.accountId) ?? 0) + 1);
      for (const [accountId, count] of renewedBy)
        if (count > 1) problems.push(`${accountId} renewed by ${count}`);

      // Churn for the next round: one process releases a third of its accounts, another is "paused".
      const releaser = PROCESSES[round % 3];
      const giving = [...held.get(releaser)!]
        .filter((_, i) => i % 3 === 0)
        .map(([accountId, epoch]) => ({ accountId, epoch }));
      await setup.stores[releaser].release(releaser, giving);
      for (const lease of giving) held.get(releaser)!.delete(lease.accountId);
      const paused = PROCESSES[(round + 1) % 3];
      await setup.expire(
        paused,
        [...held.get(paused)!.keys()].filter((_, i) => i % 4 === 0),
      );
    }

    expect(problems).toEqual([]);
    const owners = await setup.liveOwners();
    for (const [p, leases] of held)
      for (const accountId of leases.keys()) if (owners.has(accountId)) expect(owners.get(accountId)).toBe(p);
    expect(Math.max(...highestEpoch.values())).toBeGreaterThan(2);
  });

  it('a takeover raises the epoch; the old owner can no longer renew, the new one can', async () => {
    setup = await Setup.create(5);
    const { p1, p2 } = setup.stores;
    const first = await p1.acquire('p1', 5, TTL);
    expect(first.map((lease) => lease.epoch)).toEqual([1, 1, 1, 1, 1]);
    expect(await p2.acquire('p2', 5, TTL)).toEqual([]); // all live

    await setup.expire('p1', ['acc-001', 'acc-003']);
    const taken = await p2.acquire('p2', 5, TTL);
    expect(taken).toEqual([
      { accountId: 'acc-001', epoch: 2 },
      { accountId: 'acc-003', epoch: 2 },
    ]);

    const renewal = await p1.renew('p1', first, TTL);
    expect(ids(renewal.lost)).toEqual(['acc-001', 'acc-003']);
    expect(ids(renewal.renewed)).toEqual(['acc-000', 'acc-002', 'acc-004']);
    expect(await p2.renew('p2', taken, TTL)).toEqual({ renewed: taken, lost: [] });
    // p2 renewing at the old epoch (a confused caller) is refused too.
    expect((await p2.renew('p2', [{ accountId: 'acc-001', epoch: 1 }], TTL)).lost).toHaveLength(1);
  });

  it('an expired owner cannot renew, even when nobody took the lease yet', async () => {
    setup = await Setup.create(3);
    const { p1 } = setup.stores;
    const leases = await p1.acquire('p1', 3, TTL);
    await setup.expire('p1');
    expect(await p1.renew('p1', leases, TTL)).toEqual({ renewed: [], lost: leases });
    // It may acquire them again, at a new epoch: the fencing token moves on.
    expect((await p1.acquire('p1', 3, TTL)).map((lease) => lease.epoch)).toEqual([2, 2, 2]);
  });

  it('a renewal racing the takeover of its expired leases: the takeover gets them all, the renewal none', async () => {
    setup = await Setup.create(200);
    const { p1, p2 } = setup.stores;
    const leases = await p1.acquire('p1', 200, TTL);
    await setup.expire('p1');
    const [renewal, taken] = await Promise.all([p1.renew('p1', leases, TTL), p2.acquire('p2', 200, TTL)]);
    expect(renewal.renewed).toEqual([]);
    expect(ids(taken)).toEqual(ids(leases));
    const owners = await setup.liveOwners();
    expect([...owners.values()].every((owner) => owner === 'p2')).toBe(true);
  });

  it('release lets another process acquire at once, at the next epoch; a stale release changes nothing', async () => {
    setup = await Setup.create(4);
    const { p1, p2, p3 } = setup.stores;
    const leases = await p1.acquire('p1', 4, TTL);
    await p3.release('p3', leases); // not its own: nothing happens
    expect(await p2.acquire('p2', 4, TTL)).toEqual([]);

    await p1.release('p1', leases.slice(0, 2));
    expect(await p2.acquire('p2', 4, TTL)).toEqual([
      { accountId: 'acc-000', epoch: 2 },
      { accountId: 'acc-001', epoch: 2 },
    ]);
    // p1 releasing again at the old epoch does not free p2's lease.
    await p1.release('p1', leases.slice(0, 2));
    expect((await setup.liveOwners()).get('acc-000')).toBe('p2');
  });

  it('an account removed from the table is lost at the next renewal and never acquired', async () => {
    setup = await Setup.create(3);
    const { p1, p2 } = setup.stores;
    const leases = await p1.acquire('p1', 3, TTL);
    await setup.admin.query(`DELETE FROM accounts WHERE id = 'acc-002'`);
    expect(ids((await p1.renew('p1', leases, TTL)).lost)).toEqual(['acc-002']);
    await setup.expire('p1');
    expect(ids(await p2.acquire('p2', 3, TTL))).toEqual(['acc-000', 'acc-001']);
  });

  it('times come from the database: a lease lasts the TTL from its now()', async () => {
    setup = await Setup.create(1);
    const { p1 } = setup.stores;
    await p1.acquire('p1', 1, 5_000);
    const { rows } = await setup.admin.query<{ seconds: number }>(
      `SELECT extract(epoch FROM expires_at - now())::float8 AS seconds FROM leases`,
    );
    expect(rows[0].seconds).toBeGreaterThan(4);
    expect(rows[0].seconds).toBeLessThanOrEqual(5);
  });
});

describe('OwnershipManager over PostgresLeaseStore', () => {
  let setup: Setup;

  afterEach(async () => {
    await setup?.end();
  });

  /** Three managers whose rounds the test runs itself (a scheduler that never fires), on a real clock. */
  function managers(): Record<(typeof PROCESSES)[number], OwnershipManager> {
    const clock = { now: () => performance.now() };
    const make = (p: (typeof PROCESSES)[number]) =>
      new OwnershipManager(
        { processId: p, leaseTtlMs: TTL, leaseRenewMs: TTL / 4 },
        { store: setup.stores[p], scheduler: new ManualScheduler(), clock, logger: silentLogger },
        { onGained: () => undefined, onLost: () => undefined },
      );
    return { p1: make('p1'), p2: make('p2'), p3: make('p3') };
  }

  it('three processes split 90 accounts evenly; a hand-over gives its share to the other two at the next epoch', async () => {
    setup = await Setup.create(90);
    const m = managers();
    const all = Object.values(m);
    for (const manager of all) await manager.start(); // they join one after the other
    for (let round = 0; round < 3; round++) await Promise.all(all.map((manager) => manager.roundNow()));
    expect(all.map((manager) => manager.owned().length)).toEqual([30, 30, 30]);
    const owners = await setup.liveOwners();
    expect(owners.size).toBe(90);
    for (const [accountId, owner] of owners)
      expect(m[owner as keyof typeof m].mayTrade(accountId)).toBe(true);

    const leaving = m.p2.owned();
    await m.p2.handOver();
    await Promise.all([m.p1.roundNow(), m.p3.roundNow()]);
    expect([m.p1.owned().length, m.p3.owned().length]).toEqual([45, 45]);
    for (const lease of leaving) {
      const owner = m.p1.mayTrade(lease.accountId) ? m.p1 : m.p3;
      expect(owner.epochOf(lease.accountId)).toBe(lease.epoch + 1);
    }
    for (const manager of all) manager.stop();
  });
});
