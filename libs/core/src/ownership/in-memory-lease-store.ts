import type { Clock } from '../time/clock';
import type { Announcement, Lease, LeaseStore, RenewalResult } from './lease-store.port';

/** One row of the leases table. */
export interface LeaseRow {
  owner: string | null;
  epoch: number;
  expiresAt: number;
}

type Operation = 'announce' | 'renew' | 'acquire' | 'release' | 'leave';

/**
 * The leases table in memory, on the clock the test drives: the database that several processes
 * (several `OwnershipManager`s) share in one unit test. It keeps the rules of the PostgreSQL
 * store: an expired lease is free, every acquisition raises the epoch, a renewal extends only a
 * lease still held at the same epoch and not expired.
 *
 * Faults, per process: `cut` makes its calls reject (the network to the database is gone),
 * `hold` makes them wait until `resume` (a database that does not answer), and they run then.
 */
export class InMemoryLeaseStore implements LeaseStore {
  private readonly accountIds = new Set<string>();
  private readonly processes = new Map<string, number>();
  private readonly leases = new Map<string, LeaseRow>();
  private readonly cutOff = new Set<string>();
  private readonly held = new Map<string, Array<() => void>>();
  private readonly calls = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  addAccounts(ids: Iterable<string>): void {
    for (const id of ids) this.accountIds.add(id);
  }

  /** The account goes, and its lease with it: its owner loses it at its next renewal. */
  removeAccount(id: string): void {
    this.accountIds.delete(id);
    this.leases.delete(id);
  }

  cut(processId: string): void {
    this.cutOff.add(processId);
  }

  restore(processId: string): void {
    this.cutOff.delete(processId);
  }

  hold(processId: string): void {
    if (!this.held.has(processId)) this.held.set(processId, []);
  }

  /** Lets the held calls of this process run, now. */
  resume(processId: string): void {
    const waiting = this.held.get(processId) ?? [];
    this.held.delete(processId);
    for (const run of waiting) run();
  }

  /** Calls this process made (answered or not). */
  callsFrom(processId: string): number {
    return this.calls.get(processId) ?? 0;
  }

  row(accountId: string): LeaseRow | undefined {
    const row = this.leases.get(accountId);
    return row === undefined ? undefined : { ...row };
  }

  /** The live owner of each account that has one now. */
  liveOwners(): Map<string, string> {
    const now = this.clock.now();
    const owners = new Map<string, string>();
    for (const [accountId, row] of this.leases)
      if (row.owner !== null && row.expiresAt > now) owners.set(accountId, row.owner);
    return owners;
  }

  announce(processId: string, ttlMs: number): Promise<Announcement> {
    return this.call(processId, 'announce', () => {
      const now = this.clock.now();
      this.processes.set(processId, now + ttlMs);
      let liveProcesses = 0;
      let nextExpiry = Infinity;
      for (const [id, expiresAt] of this.processes)
        if (expiresAt > now) {
          liveProcesses++;
          if (id !== processId) nextExpiry = Math.min(nextExpiry, expiresAt);
        }
      for (const row of this.leases.values())
        if (row.owner !== null && row.owner !== processId && row.expiresAt > now)
          nextExpiry = Math.min(nextExpiry, row.expiresAt);
      return {
        liveProcesses,
        accounts: this.accountIds.size,
        ...(nextExpiry === Infinity ? {} : { nextExpiryInMs: nextExpiry - now }),
      };
    });
  }

  renew(processId: string, held: readonly Lease[], ttlMs: number): Promise<RenewalResult> {
    return this.call(processId, 'renew', () => {
      const now = this.clock.now();
      const result: RenewalResult = { renewed: [], lost: [] };
      for (const lease of held) {
        const row = this.leases.get(lease.accountId);
        if (
          row !== undefined &&
          row.owner === processId &&
          row.epoch === lease.epoch &&
          row.expiresAt > now
        ) {
          row.expiresAt = now + ttlMs;
          result.renewed.push({ ...lease });
        } else result.lost.push({ ...lease });
      }
      return result;
    });
  }

  acquire(processId: string, max: number, ttlMs: number): Promise<Lease[]> {
    return this.call(processId, 'acquire', () => {
      const now = this.clock.now();
      const gained: Lease[] = [];
      for (const accountId of this.accountIds) {
        if (gained.length >= max) break;
        const row = this.leases.get(accountId);
        if (row !== undefined && row.owner !== null && row.expiresAt > now) continue;
        const epoch = (row?.epoch ?? 0) + 1;
        this.leases.set(accountId, { owner: processId, epoch, expiresAt: now + ttlMs });
        gained.push({ accountId, epoch });
      }
      return gained;
    });
  }

  release(processId: string, leases: readonly Lease[]): Promise<void> {
    return this.call(processId, 'release', () => {
      const now = this.clock.now();
      for (const lease of leases) {
        const row = this.leases.get(lease.accountId);
        if (row !== undefined && row.owner === processId && row.epoch === lease.epoch) {
          row.owner = null;
          row.expiresAt = now;
        }
      }
    });
  }

  leave(processId: string): Promise<void> {
    return this.call(processId, 'leave', () => void this.processes.delete(processId));
  }

  private call<T>(processId: string, operation: Operation, run: () => T): Promise<T> {
    this.calls.set(processId, this.callsFrom(processId) + 1);
    return new Promise<T>((resolve, reject) => {
      const attempt = () => {
        if (this.cutOff.has(processId))
          reject(new Error(`${operation}: connection to the database lost (${processId})`));
        else resolve(run());
      };
      const waiting = this.held.get(processId);
      if (waiting !== undefined) waiting.push(attempt);
      else attempt();
    });
  }
}
