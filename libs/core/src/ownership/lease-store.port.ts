/**
 * Ownership of accounts when several processes share one database (docs/scale-out.md): each
 * account has at most one owner at a time, holding a lease with an epoch that rises at every
 * change of owner. Times are the database's clock, never the caller's.
 */
export interface Lease {
  accountId: string;
  /** The epoch of this ownership: the fencing token of every write and every broker order. */
  epoch: number;
}

/** What one renewal found: the leases still held, and those lost (taken over, or expired and gone). */
export interface RenewalResult {
  renewed: Lease[];
  lost: Lease[];
}

/** What an announcement answers. */
export interface Announcement {
  /** Processes alive now, this one included. */
  liveProcesses: number;
  accounts: number;
  /**
   * Milliseconds until the next announcement of another process or lease held by another process
   * runs out (undefined: none is running): when a process died, the moment its accounts may be
   * taken, so a round can run then instead of up to one renewal period later.
   */
  nextExpiryInMs?: number;
}

/**
 * Where leases live (PostgreSQL in production, memory in tests). Every call either answers for
 * the database or rejects (unreachable, timeout); a rejection never means "lost".
 */
export interface LeaseStore {
  /** Marks this process alive until `ttlMs` from now and says how many processes are alive (this one included). */
  announce(processId: string, ttlMs: number): Promise<Announcement>;
  /** Extends the leases this process holds at these epochs by `ttlMs`; a lease whose epoch moved on is lost. */
  renew(processId: string, held: readonly Lease[], ttlMs: number): Promise<RenewalResult>;
  /** Takes at most `max` accounts that have no live owner (free or expired), each at a new, higher epoch. */
  acquire(processId: string, max: number, ttlMs: number): Promise<Lease[]>;
  /** Gives these leases up at once (hand-over on SIGTERM, or shedding above the fair share). */
  release(processId: string, leases: readonly Lease[]): Promise<void>;
  /**
   * Says this process is gone (a clean exit, after `release`): the others stop counting it at
   * once, so their fair share grows and they take its accounts on their next round instead of
   * waiting for its announcement to expire.
   */
  leave(processId: string): Promise<void>;
}

export const LEASE_STORE = Symbol('LEASE_STORE');
