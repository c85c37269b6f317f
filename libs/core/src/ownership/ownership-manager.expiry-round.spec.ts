import type { CoreLogger } from '../logging/core-logger.port';
import { ManualScheduler } from '../time/scheduler';
import type { Announcement, Lease, LeaseStore, RenewalResult } from './lease-store.port';
import { OwnershipManager } from './ownership-manager';

const TTL = 10_000;
const RENEW = 3_000;

/** A store whose announcements say what the test queues (then nothing runs out), and that records when each came. */
class ScriptedStore implements LeaseStore {
  readonly announcedAt: number[] = [];
  /** nextExpiryInMs of the next announcements, in order; undefined once used up. */
  readonly expiries: (number | undefined)[] = [];
  /** When set, the next announcement waits for the test to answer it. */
  hold: ((answer: () => void) => void) | undefined;

  constructor(private readonly clock: ManualScheduler) {}

  announce(): Promise<Announcement> {
    this.announcedAt.push(this.clock.now());
    const next = this.expiries.shift();
    const answer: Announcement = {
      liveProcesses: 2,
      accounts: 4,
      ...(next === undefined ? {} : { nextExpiryInMs: next }),
    };
    const hold = this.hold;
    this.hold = undefined;
    if (hold === undefined) return Promise.resolve(answer);
    return new Promise((resolve) => hold(() => resolve(answer)));
  }

  renew(_processId: string, held: readonly Lease[]): Promise<RenewalResult> {
    return Promise.resolve({ renewed: held.map((lease) => ({ ...lease })), lost: [] });
  }

  acquire(): Promise<Lease[]> {
    return Promise.resolve([]);
  }

  release(): Promise<void> {
    return Promise.resolve();
  }

  leave(): Promise<void> {
    return Promise.resolve();
  }
}

const quiet: CoreLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function managerOn(clock: ManualScheduler, store: ScriptedStore): OwnershipManager {
  return new OwnershipManager(
    { processId: 'p', leaseTtlMs: TTL, leaseRenewMs: RENEW },
    { store, scheduler: clock, clock, logger: quiet },
    { onGained: () => undefined, onLost: () => undefined },
  );
}

describe('OwnershipManager: the round at another process expiry', () => {
  let clock: ManualScheduler;
  let store: ScriptedStore;
  let manager: OwnershipManager;
  let t0: number;

  beforeEach(() => {
    clock = new ManualScheduler();
    store = new ScriptedStore(clock);
    manager = managerOn(clock, store);
    t0 = clock.now();
  });

  afterEach(() => manager.stop());

  it('runs one extra round just after the expiry, never before it, and does not repeat it', async () => {
    store.expiries.push(1_000);
    await manager.start();
    await clock.advanceAsync(RENEW - 1);
    expect(store.announcedAt.map((at) => at - t0)).toEqual([0, 1_025]);
    await clock.advanceAsync(1);
    expect(store.announcedAt.map((at) => at - t0)).toEqual([0, 1_025, RENEW]);
  });

  it('runs no extra round for an expiry at or after the next regular round', async () => {
    store.expiries.push(RENEW, RENEW + 500);
    await manager.start();
    await clock.advanceAsync(RENEW + 10);
    expect(store.announcedAt.map((at) => at - t0)).toEqual([0, RENEW]);
  });

  it('a later round that sees no expiry soon cancels the extra round an earlier one planned', async () => {
    store.expiries.push(2_000);
    await manager.start();
    await clock.advanceAsync(500);
    await manager.roundNow(); // a notification: nothing runs out soon any more
    await clock.advanceAsync(RENEW - 500 - 1);
    expect(store.announcedAt.map((at) => at - t0)).toEqual([0, 500]);
  });

  it('stop() cancels a planned extra round: no round after stop', async () => {
    store.expiries.push(1_000);
    await manager.start();
    manager.stop();
    await clock.advanceAsync(5 * RENEW);
    expect(store.announcedAt).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('an announcement answered after stop() plans no round', async () => {
    await manager.start();
    const answers: (() => void)[] = [];
    store.hold = (answer) => void answers.push(answer);
    store.expiries.push(200);
    await clock.advanceAsync(RENEW); // the regular round, now waiting on the announcement
    expect(store.announcedAt).toHaveLength(2);
    manager.stop();
    answers[0]?.();
    await clock.advanceAsync(5 * RENEW);
    expect(store.announcedAt).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it('handOver cancels a planned extra round', async () => {
    store.expiries.push(1_000);
    await manager.start();
    await manager.handOver();
    await clock.advanceAsync(5 * RENEW);
    expect(store.announcedAt).toHaveLength(1);
  });

  it('an expiry answered as already past still waits its delay, and plans one round, not a loop', async () => {
    store.expiries.push(0);
    await manager.start();
    await clock.advanceAsync(24);
    expect(store.announcedAt).toHaveLength(1);
    await clock.advanceAsync(RENEW - 24 - 1);
    expect(store.announcedAt.map((at) => at - t0)).toEqual([0, 25]);
  });
});
