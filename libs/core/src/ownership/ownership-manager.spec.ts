import type { CoreLogger } from '../logging/core-logger.port';
import type { Cancel, Scheduler } from '../time/scheduler';
import { ManualScheduler } from '../time/scheduler';
import { InMemoryLeaseStore } from './in-memory-lease-store';
import type { Lease } from './lease-store.port';
import { OwnershipManager, type OwnershipLossReason } from './ownership-manager';

const TTL = 10_000;
const RENEW = 3_000;
const STEP = 100;

/** The scheduler of one process: SIGSTOP holds its timers, SIGCONT runs each held one once (late). */
class PausableScheduler implements Scheduler {
  private paused = false;
  private readonly missed = new Set<() => void>();

  constructor(private readonly base: ManualScheduler) {}

  after(ms: number, run: () => void): Cancel {
    return this.base.after(ms, this.gated(run));
  }

  every(ms: number, run: () => void): Cancel {
    return this.base.every(ms, this.gated(run));
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.base.sleep(ms, signal);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const late = [...this.missed];
    this.missed.clear();
    for (const run of late) run();
  }

  private gated(run: () => void): () => void {
    return () => (this.paused ? this.missed.add(run) : run());
  }
}

interface Change {
  at: number;
  lease: Lease;
  kind: 'gained' | OwnershipLossReason;
}

class Process {
  readonly changes: Change[] = [];
  readonly scheduler: PausableScheduler;
  readonly manager: OwnershipManager;
  readonly warnings: string[] = [];
  /** Set by a test to look at the world at the instant a lease is lost. */
  onLost: (lease: Lease, why: OwnershipLossReason) => void = () => undefined;

  constructor(
    readonly id: string,
    clock: ManualScheduler,
    store: InMemoryLeaseStore,
    epochs: EpochWitness,
  ) {
    this.scheduler = new PausableScheduler(clock);
    const logger: CoreLogger = {
      info: () => undefined,
      warn: (_fields, message) => void this.warnings.push(message),
      error: (_fields, message) => void this.warnings.push(message),
    };
    this.manager = new OwnershipManager(
      { processId: id, leaseTtlMs: TTL, leaseRenewMs: RENEW },
      { store, scheduler: this.scheduler, clock, logger },
      {
        onGained: (lease) => {
          epochs.gained(lease);
          this.changes.push({ at: clock.now(), lease, kind: 'gained' });
        },
        onLost: (lease, why) => {
          this.changes.push({ at: clock.now(), lease, kind: why });
          this.onLost(lease, why);
        },
      },
    );
  }

  lost(why: OwnershipLossReason): Change[] {
    return this.changes.filter((change) => change.kind === why);
  }

  get ownedCount(): number {
    return this.manager.owned().length;
  }
}

/** Every gain of an account is at an epoch above every earlier one of that account, whoever held it. */
class EpochWitness {
  private readonly highest = new Map<string, number>();
  readonly violations: string[] = [];

  gained(lease: Lease): void {
    const before = this.highest.get(lease.accountId) ?? 0;
    if (lease.epoch <= before)
      this.violations.push(`${lease.accountId}: epoch ${lease.epoch} after ${before}`);
    this.highest.set(lease.accountId, Math.max(before, lease.epoch));
  }
}

function accounts(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `acc-${String(i).padStart(3, '0')}`);
}

class Cluster {
  readonly clock = new ManualScheduler();
  readonly store = new InMemoryLeaseStore(this.clock);
  readonly epochs = new EpochWitness();
  readonly processes: Process[] = [];
  readonly doubleOwnership: string[] = [];

  constructor(readonly accountIds: string[]) {
    this.store.addAccounts(accountIds);
  }

  async join(id: string): Promise<Process> {
    const process = new Process(id, this.clock, this.store, this.epochs);
    this.processes.push(process);
    await process.manager.start();
    this.checkSingleOwner();
    return process;
  }

  /** Moves time on in small steps, checking after each that no account may be traded by two processes. */
  async run(ms: number): Promise<void> {
    for (let done = 0; done < ms; done += STEP) {
      await this.clock.advanceAsync(Math.min(STEP, ms - done));
      this.checkSingleOwner();
    }
  }

  /** Runs until `condition` holds (checked every step), failing after `limitMs`; returns the time it took. */
  async runUntil(condition: () => boolean, limitMs: number): Promise<number> {
    const start = this.clock.now();
    while (!condition()) {
      if (this.clock.now() - start > limitMs) throw new Error(`condition not met within ${limitMs} ms`);
      await this.run(STEP);
    }
    return this.clock.now() - start;
  }

  private checkSingleOwner(): void {
    for (const accountId of this.accountIds) {
      const traders = this.processes.filter((p) => p.manager.mayTrade(accountId));
      if (traders.length > 1)
        this.doubleOwnership.push(
          `${accountId} at ${this.clock.now()}: ${traders.map((p) => p.id).join(', ')}`,
        );
    }
  }
}

function fairShare(cluster: Cluster, live: Process[]): number {
  return Math.ceil(cluster.accountIds.length / live.length);
}

describe('OwnershipManager', () => {
  it('refuses a TTL that one failed renewal could outlive', () => {
    const clock = new ManualScheduler();
    const ports = {
      store: new InMemoryLeaseStore(clock),
      scheduler: clock,
      clock,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    };
    const listener = { onGained: () => undefined, onLost: () => undefined };
    expect(
      () => new OwnershipManager({ processId: 'p', leaseTtlMs: 9_000, leaseRenewMs: 3_000 }, ports, listener),
    ).toThrow(RangeError);
    expect(
      () => new OwnershipManager({ processId: 'p', leaseTtlMs: 9_001, leaseRenewMs: 3_000 }, ports, listener),
    ).not.toThrow();
  });

  it('one process alone takes every account at epoch 1, and keeps them round after round', async () => {
    const cluster = new Cluster(accounts(100));
    const a = await cluster.join('a');
    expect(a.ownedCount).toBe(100);
    expect(a.manager.owned().every((lease) => lease.epoch === 1)).toBe(true);
    expect(a.manager.mayTrade('acc-007')).toBe(true);
    expect(a.manager.epochOf('acc-007')).toBe(1);
    expect(a.manager.mayTrade('unknown')).toBe(false);

    await cluster.run(60_000);
    expect(a.ownedCount).toBe(100);
    expect(a.changes.filter((c) => c.kind !== 'gained')).toEqual([]);
    expect(a.manager.counts()).toEqual({
      owned: 100,
      takeovers: 0,
      lost: { taken_over: 0, expired: 0, database_unreachable: 0, released: 0 },
    });
  });

  it('a second process joining gets half within a few rounds, never with two traders for one account', async () => {
    const cluster = new Cluster(accounts(100));
    const a = await cluster.join('a');
    await cluster.run(1_000);
    const b = await cluster.join('b');

    const took = await cluster.runUntil(() => a.ownedCount === 50 && b.ownedCount === 50, 30_000);
    expect(took).toBeLessThanOrEqual(2 * RENEW);
    // a released first (trading stopped), b then took them over at epoch 2.
    expect(a.lost('released')).toHaveLength(50);
    expect(b.manager.owned().every((lease) => lease.epoch === 2)).toBe(true);
    expect(b.manager.counts().takeovers).toBe(50);

    await cluster.run(30_000); // and it stays balanced
    expect([a.ownedCount, b.ownedCount]).toEqual([50, 50]);
    expect(cluster.doubleOwnership).toEqual([]);
    expect(cluster.epochs.violations).toEqual([]);
  });

  it('three processes: within 30 s of each joining, none owns more than 1.25 x its fair share', async () => {
    const cluster = new Cluster(accounts(100));
    const live: Process[] = [await cluster.join('a')];
    for (const id of ['b', 'c']) {
      await cluster.run(1_234);
      live.push(await cluster.join(id));
      await cluster.run(30_000);
      const limit = 1.25 * fairShare(cluster, live);
      for (const p of live) expect(p.ownedCount).toBeLessThanOrEqual(limit);
      expect(live.reduce((sum, p) => sum + p.ownedCount, 0)).toBe(100);
    }
    expect(cluster.doubleOwnership).toEqual([]);
    expect(cluster.epochs.violations).toEqual([]);
  });

  it('sheds by stopping the trading first, then releasing', async () => {
    const cluster = new Cluster(accounts(10));
    const a = await cluster.join('a');
    const seenAtRelease: Array<{ mayTrade: boolean; ownerInDatabase: string | null | undefined }> = [];
    a.onLost = (lease, why) => {
      if (why === 'released')
        seenAtRelease.push({
          mayTrade: a.manager.mayTrade(lease.accountId),
          ownerInDatabase: cluster.store.row(lease.accountId)?.owner,
        });
    };
    await cluster.join('b');
    await cluster.run(RENEW);
    expect(seenAtRelease).toHaveLength(5);
    expect(seenAtRelease.every((s) => !s.mayTrade && s.ownerInDatabase === 'a')).toBe(true);
  });

  it('a paused process stops trading before its accounts can be taken; another takes them at a higher epoch', async () => {
    const cluster = new Cluster(accounts(60));
    const a = await cluster.join('a');
    const b = await cluster.join('b');
    await cluster.runUntil(() => a.ownedCount === 30 && b.ownedCount === 30, 30_000);
    const aLeases = a.manager.owned();

    a.scheduler.pause(); // SIGSTOP
    const pausedAt = cluster.clock.now();
    const takenOverAt = new Map<string, number>();
    const stoppedTradingAt = new Map<string, number>();
    while (takenOverAt.size < aLeases.length) {
      await cluster.run(STEP);
      for (const lease of aLeases) {
        if (!stoppedTradingAt.has(lease.accountId) && !a.manager.mayTrade(lease.accountId))
          stoppedTradingAt.set(lease.accountId, cluster.clock.now());
        if (!takenOverAt.has(lease.accountId) && b.manager.mayTrade(lease.accountId))
          takenOverAt.set(lease.accountId, cluster.clock.now());
      }
      if (cluster.clock.now() - pausedAt > 3 * TTL) break;
    }
    expect(takenOverAt.size).toBe(aLeases.length);
    for (const lease of aLeases) {
      expect(stoppedTradingAt.get(lease.accountId)!).toBeLessThan(takenOverAt.get(lease.accountId)!);
      expect(stoppedTradingAt.get(lease.accountId)! - pausedAt).toBeLessThanOrEqual(TTL - RENEW);
      expect(b.manager.epochOf(lease.accountId)).toBeGreaterThan(lease.epoch);
    }
    // kill -9 target: every account traded again within 15 s.
    expect(Math.max(...takenOverAt.values()) - pausedAt).toBeLessThanOrEqual(15_000);

    a.scheduler.resume(); // SIGCONT: it learns it lost them, and never trades them at the old epoch
    await cluster.run(STEP);
    expect(
      a
        .lost('expired')
        .map((c) => c.lease.accountId)
        .sort(),
    ).toEqual(aLeases.map((l) => l.accountId).sort());
    await cluster.run(30_000);
    expect(a.ownedCount + b.ownedCount).toBe(60);
    expect(Math.abs(a.ownedCount - b.ownedCount)).toBeLessThanOrEqual(1);
    expect(cluster.doubleOwnership).toEqual([]);
    expect(cluster.epochs.violations).toEqual([]);
  });

  it("a dead process's accounts are taken as its leases run out, not up to a renewal period later", async () => {
    const cluster = new Cluster(accounts(40));
    const a = await cluster.join('a'); // rounds at 0, 3000, 6000, ...
    await cluster.run(2_000);
    const b = await cluster.join('b'); // rounds at 2000, 5000, 8000, 11000, ...
    await cluster.runUntil(() => a.ownedCount === 20 && b.ownedCount === 20, 30_000);
    // Just after one of a's rounds: its leases and its announcement run out TTL after it.
    await cluster.run(RENEW - (cluster.clock.now() % RENEW) + STEP);
    const lastRenewal = cluster.clock.now() - STEP;
    const aLeases = a.manager.owned();
    a.scheduler.pause(); // as kill -9: no more rounds
    await cluster.runUntil(() => aLeases.every((lease) => b.manager.mayTrade(lease.accountId)), 3 * TTL);
    // b's regular rounds fall 1 s after the expiry and 2 s before it: without a round at the
    // expiry itself, the takeover would wait for the one 1 s after.
    expect(cluster.clock.now() - lastRenewal).toBeLessThanOrEqual(TTL + 2 * STEP);
    expect(b.ownedCount).toBe(40);
    expect(cluster.doubleOwnership).toEqual([]);
    expect(cluster.epochs.violations).toEqual([]);
  });

  it('a process that lost the database stops trading within LEASE_TTL_MS, all leases lost as database_unreachable', async () => {
    const cluster = new Cluster(accounts(40));
    const a = await cluster.join('a');
    const b = await cluster.join('b');
    await cluster.runUntil(() => a.ownedCount === 20 && b.ownedCount === 20, 30_000);
    await cluster.run(1_500); // mid-period, as a cut would come

    cluster.store.cut('a');
    const cutAt = cluster.clock.now();
    const stoppedIn = await cluster.runUntil(() => a.ownedCount === 0, TTL);
    expect(stoppedIn).toBeLessThanOrEqual(TTL - RENEW);
    await cluster.run(RENEW); // the callbacks come at the next tick at the latest
    const lost = a.lost('database_unreachable');
    expect(lost).toHaveLength(20);
    expect(Math.max(...lost.map((c) => c.at)) - cutAt).toBeLessThanOrEqual(TTL);
    expect(a.warnings).toContain('ownership_lost');

    await cluster.runUntil(() => b.ownedCount === 40, 15_000);
    expect(cluster.doubleOwnership).toEqual([]);
    expect(cluster.epochs.violations).toEqual([]);
  });

  it('a database that does not answer: rounds are skipped, not piled up, and the leases end in time', async () => {
    const cluster = new Cluster(accounts(10));
    const a = await cluster.join('a');
    await cluster.run(500);
    cluster.store.hold('a');
    const callsBefore = cluster.store.callsFrom('a');
    await cluster.run(5 * RENEW);
    expect(cluster.store.callsFrom('a')).toBe(callsBefore + 1); // one announce waiting, no other call
    expect(a.ownedCount).toBe(0);
    expect(a.lost('database_unreachable')).toHaveLength(10);
    expect(a.manager.mayTrade('acc-001')).toBe(false);

    // The database answers again: the held call runs (late), the rounds go on, the process takes them again.
    cluster.store.resume('a');
    await cluster.run(2 * RENEW);
    expect(a.ownedCount).toBe(10);
    expect(a.manager.owned().every((lease) => lease.epoch === 2)).toBe(true);
    expect(cluster.epochs.violations).toEqual([]);
  });

  it('hand-over: stops trading everything, releases and leaves; the others take over on their next round', async () => {
    const cluster = new Cluster(accounts(90));
    const a = await cluster.join('a');
    const b = await cluster.join('b');
    const c = await cluster.join('c');
    await cluster.run(30_000);
    const aLeases = a.manager.owned();
    expect(aLeases.length).toBeGreaterThan(0);

    await a.manager.handOver();
    const handedAt = cluster.clock.now();
    expect(a.ownedCount).toBe(0);
    expect(a.lost('released').length).toBeGreaterThanOrEqual(aLeases.length);
    for (const lease of aLeases) expect(cluster.store.row(lease.accountId)?.owner).toBeNull();

    const took = await cluster.runUntil(() => b.ownedCount + c.ownedCount === 90, 30_000);
    expect(took).toBeLessThanOrEqual(RENEW);
    expect(cluster.clock.now() - handedAt).toBeLessThanOrEqual(RENEW);
    for (const lease of aLeases) {
      const owner = [b, c].find((p) => p.manager.mayTrade(lease.accountId))!;
      expect(owner.manager.epochOf(lease.accountId)).toBe(lease.epoch + 1);
    }
    expect(Math.abs(b.ownedCount - c.ownedCount)).toBeLessThanOrEqual(1);
    expect(cluster.doubleOwnership).toEqual([]);
    expect(cluster.epochs.violations).toEqual([]);
  });

  it('hand-over with the database gone resolves within the TTL and says so; the leases then expire', async () => {
    const cluster = new Cluster(accounts(10));
    const a = await cluster.join('a');
    const b = await cluster.join('b');
    await cluster.run(10_000);
    cluster.store.hold('a');
    const handOver = a.manager.handOver();
    let done = false;
    void handOver.then(() => (done = true));
    await cluster.run(TTL);
    expect(done).toBe(true);
    expect(a.warnings).toContain('ownership_hand_over_failed: the leases expire by TTL');
    await cluster.runUntil(() => b.ownedCount === 10, 20_000);
  });

  it('a renewal refused by the database (taken over) stops the trading of that account', async () => {
    const cluster = new Cluster(accounts(3));
    const a = await cluster.join('a');
    cluster.store.removeAccount('acc-001');
    await cluster.run(RENEW);
    expect(a.manager.mayTrade('acc-001')).toBe(false);
    expect(a.lost('taken_over').map((c) => c.lease.accountId)).toEqual(['acc-001']);
    expect(a.ownedCount).toBe(2);
  });

  it('a fenced write elsewhere stops the account at once; a stale report is ignored', async () => {
    const cluster = new Cluster(accounts(3));
    const a = await cluster.join('a');
    a.manager.lostElsewhere('acc-002', 7);
    expect(a.manager.mayTrade('acc-002')).toBe(true);
    a.manager.lostElsewhere('acc-002', 1);
    expect(a.manager.mayTrade('acc-002')).toBe(false);
    expect(a.manager.epochOf('acc-002')).toBeUndefined();
    expect(a.manager.counts().lost.taken_over).toBe(1);
  });

  it('a listener that throws does not stop the rounds', async () => {
    const clock = new ManualScheduler();
    const store = new InMemoryLeaseStore(clock);
    store.addAccounts(accounts(5));
    const errors: string[] = [];
    const manager = new OwnershipManager(
      { processId: 'a', leaseTtlMs: TTL, leaseRenewMs: RENEW },
      {
        store,
        scheduler: clock,
        clock,
        logger: { info: () => undefined, warn: () => undefined, error: (_f, m) => void errors.push(m) },
      },
      {
        onGained: () => {
          throw new Error('boom');
        },
        onLost: () => undefined,
      },
    );
    await manager.start();
    expect(errors).toEqual(Array(5).fill('ownership_listener_failed'));
    await clock.advanceAsync(5 * RENEW);
    expect(manager.owned()).toHaveLength(5);
    manager.stop();
    expect(clock.pending).toBe(0);
  });
});
