import type { CoreLogger } from '../logging/core-logger.port';
import type { Clock } from '../time/clock';
import { withDeadline } from '../time/deadline';
import type { Cancel, Scheduler } from '../time/scheduler';
import type { Lease, LeaseStore } from './lease-store.port';

/** After the moment a lease runs out on the database's clock: the round must find it run out. */
const EXPIRY_ROUND_DELAY_MS = 25;

/**
 * Why a lease stopped being held:
 * - `taken_over`: the database refused its renewal (another process owns it, or may take it at
 *   any moment), or a write or a bridge refused its epoch;
 * - `expired`: its local validity ran out while the database answered (the process was paused,
 *   or a renewal was too slow);
 * - `database_unreachable`: its local validity ran out while the database did not answer;
 * - `released`: given up on purpose (above the fair share, or the hand-over on SIGTERM).
 */
export type OwnershipLossReason = 'taken_over' | 'expired' | 'database_unreachable' | 'released';

export interface OwnershipSettings {
  processId: string;
  /** LEASE_TTL_MS: a lease not renewed for this long may be taken by another process. */
  leaseTtlMs: number;
  /** LEASE_RENEW_MS: the period of the rounds (announce, renew, rebalance). */
  leaseRenewMs: number;
}

export interface OwnershipPorts {
  store: LeaseStore;
  scheduler: Scheduler;
  /**
   * A clock that never steps back and keeps counting while the process is paused (a monotonic
   * one in production): local validity is measured on it, never on the database's clock.
   */
  clock: Clock;
  logger: CoreLogger;
}

export interface OwnershipListener {
  /** The process now owns this account at this epoch: start (continue) trading it. */
  onGained(lease: Lease): void;
  /** Stop trading this account now, and send no further order for it. */
  onLost(lease: Lease, why: OwnershipLossReason): void;
}

/** What the metrics read (`trading_accounts_owned`, `trading_lease_takeovers_total`, `trading_ownership_lost_total`). */
export interface OwnershipCounts {
  owned: number;
  /** Leases gained at an epoch above 1: the account had an owner before. */
  takeovers: number;
  lost: Record<OwnershipLossReason, number>;
}

interface HeldLease {
  lease: Lease;
  /** Local clock time until which the lease counts as held. */
  validUntil: number;
}

/**
 * Which accounts this process owns (docs/scale-out.md, Ownership). Every `leaseRenewMs`, and once
 * at `start()`, a round: announce the process, renew the held leases, then move towards the fair
 * share `ceil(accounts / live processes)`: acquire up to it, or shed down to it once above 1.25
 * times it.
 *
 * Local validity: a lease counts as held only until `renewal start + leaseTtlMs - leaseRenewMs`
 * on the local clock. The database sets the lease's expiry from its own `now()` while it runs the
 * renewal, which is after the request started, so the local end comes at least one renewal period
 * before the database can let anybody else take the account: room for an order already checked
 * to be on its way, for a slow answer and for the drift between the two clocks. It survives one
 * failed round (`leaseTtlMs > 3 x leaseRenewMs`, checked at construction). A process that lost the
 * database thus stops trading within `leaseTtlMs - leaseRenewMs` of its last renewal.
 *
 * Rounds never overlap: a round still waiting on the database when the next is due makes that
 * one skip, but the local validity is checked on every tick, so a hung database still ends the
 * leases in time.
 */
export class OwnershipManager {
  private readonly held = new Map<string, HeldLease>();
  /** Each account's last epoch held here, kept after it is lost: the fencing token of late orders. */
  private readonly lastEpochs = new Map<string, number>();
  private cancelTicks: Cancel | undefined;
  /** A round due when another process's lease or announcement runs out, before the next regular one. */
  private cancelExpiryRound: Cancel | undefined;
  private roundInFlight: Promise<void> | undefined;
  private stopped = false;
  /**
   * The last round's database call failed, or one is still waiting for an answer: a lease whose
   * validity runs out then is `database_unreachable`, not `expired`.
   */
  private databaseFailing = false;
  private awaitingDatabase = false;
  private takeovers = 0;
  private readonly lost: Record<OwnershipLossReason, number> = {
    taken_over: 0,
    expired: 0,
    database_unreachable: 0,
    released: 0,
  };
  private readonly marginMs: number;

  constructor(
    private readonly settings: OwnershipSettings,
    private readonly ports: OwnershipPorts,
    private readonly listener: OwnershipListener,
  ) {
    const { leaseTtlMs, leaseRenewMs } = settings;
    if (!(leaseRenewMs > 0) || !(leaseTtlMs > 3 * leaseRenewMs))
      throw new RangeError(
        `LEASE_TTL_MS (${leaseTtlMs}) must exceed 3 x LEASE_RENEW_MS (${leaseRenewMs}): ` +
          'a lease must survive one failed renewal and still end locally before the database expires it',
      );
    this.marginMs = leaseRenewMs;
  }

  /** Starts the rounds; resolves when the first one is done. */
  start(): Promise<void> {
    this.stopped = false;
    this.cancelTicks ??= this.ports.scheduler.every(this.settings.leaseRenewMs, () => this.tick());
    return this.roundNow();
  }

  /** Stops the rounds; the leases then expire by TTL (use `handOver` to give them up at once). */
  stop(): void {
    this.stopped = true;
    this.cancelTicks?.();
    this.cancelTicks = undefined;
    this.cancelExpiryRound?.();
    this.cancelExpiryRound = undefined;
  }

  /**
   * Runs a round now unless one is running (a notification that the accounts or the processes
   * changed, say); resolves when that round is done.
   */
  roundNow(): Promise<void> {
    this.expireLocally();
    if (this.stopped) return Promise.resolve();
    if (this.roundInFlight !== undefined) return this.roundInFlight;
    const round = this.round().finally(() => {
      this.roundInFlight = undefined;
    });
    this.roundInFlight = round;
    return round;
  }

  /**
   * The hand-over on SIGTERM: stops the rounds, stops trading every account (`released`), then
   * releases the leases and leaves, so the others take the accounts on their next round. Resolves
   * when done, or when the database fails or does not answer within `leaseTtlMs` (logged: the
   * leases then expire by TTL).
   */
  async handOver(): Promise<void> {
    this.stop();
    // All go back to the database, but those whose validity already ran out are told as such.
    const leases = [...this.held.values()].map((held) => held.lease);
    this.expireLocally();
    for (const held of [...this.held.values()]) this.drop(held.lease, 'released');
    const { processId, leaseTtlMs } = this.settings;
    const giveUp = async () => {
      await this.ports.store.release(processId, leases);
      await this.ports.store.leave(processId);
    };
    const work = giveUp().then(
      () => undefined,
      (error: unknown) => error,
    );
    const outcome = await withDeadline(this.ports.scheduler, work, leaseTtlMs);
    const error = outcome === 'done' ? await work : new Error(`no answer within ${leaseTtlMs} ms`);
    if (error === undefined) this.ports.logger.info({ accounts: leases.length }, 'ownership_handed_over');
    else
      this.ports.logger.warn(
        { accounts: leases.length, err: describe(error) },
        'ownership_hand_over_failed: the leases expire by TTL',
      );
  }

  /** Whether this process may trade the account now: it holds the lease and its local validity has not run out. */
  mayTrade(accountId: string): boolean {
    return this.validLease(accountId) !== undefined;
  }

  /** The epoch of the account's lease while held (the fencing token of writes and orders), else undefined. */
  epochOf(accountId: string): number | undefined {
    return this.validLease(accountId)?.epoch;
  }

  /**
   * The token the account's orders carry to its bridge: its epoch while held, and the last epoch
   * held once lost, so that an order already under way when the lease lapsed is refused by a
   * bridge that has seen the new owner's higher token (without a token it would pass).
   */
  fencingToken(accountId: string): number | undefined {
    return this.epochOf(accountId) ?? this.lastEpochs.get(accountId);
  }

  /**
   * Another part of the process learned that the account changed owner (a write refused for its
   * epoch, a bridge's `stale_fencing_token`): stop holding it at once. A stale epoch is ignored.
   */
  lostElsewhere(accountId: string, epoch: number): void {
    const held = this.held.get(accountId);
    if (held === undefined || held.lease.epoch !== epoch) return;
    this.drop(held.lease, 'taken_over');
  }

  /** The leases held now (local validity included). */
  owned(): Lease[] {
    const now = this.ports.clock.now();
    return [...this.held.values()].filter((held) => now < held.validUntil).map((held) => ({ ...held.lease }));
  }

  counts(): OwnershipCounts {
    return { owned: this.owned().length, takeovers: this.takeovers, lost: { ...this.lost } };
  }

  private validLease(accountId: string): Lease | undefined {
    const held = this.held.get(accountId);
    if (held === undefined || this.ports.clock.now() >= held.validUntil) return undefined;
    return held.lease;
  }

  private tick(): void {
    this.roundNow().catch((error: unknown) =>
      this.ports.logger.error({ err: describe(error) }, 'ownership_round_failed'),
    );
  }

  /** Leases whose local validity ran out are lost, whatever the database would say. */
  private expireLocally(): void {
    const now = this.ports.clock.now();
    const why: OwnershipLossReason =
      this.databaseFailing || this.awaitingDatabase ? 'database_unreachable' : 'expired';
    for (const held of [...this.held.values()]) if (now >= held.validUntil) this.drop(held.lease, why);
  }

  private async round(): Promise<void> {
    const { store } = this.ports;
    const { processId, leaseTtlMs } = this.settings;
    this.awaitingDatabase = true;
    try {
      const { liveProcesses, accounts, nextExpiryInMs } = await store.announce(processId, leaseTtlMs);
      if (this.stopped) return;
      this.roundAtExpiry(nextExpiryInMs);
      await this.renew();
      if (this.stopped) return;
      this.databaseFailing = false;
      const fairShare = Math.ceil(accounts / Math.max(1, liveProcesses));
      const holding = this.held.size;
      if (holding < fairShare) await this.acquire(fairShare - holding);
      // Strictly above 1.25 x the fair share (not rounded up): with few accounts a share of 2
      // would otherwise let a process keep 3 while another has none.
      else if (holding > 1.25 * fairShare) await this.shed(holding - fairShare);
    } catch (error) {
      this.databaseFailing = true;
      this.ports.logger.warn({ err: describe(error), held: this.held.size }, 'ownership_round_failed');
    } finally {
      this.awaitingDatabase = false;
      this.expireLocally();
    }
  }

  /**
   * A dead process's accounts may be taken the moment its leases run out, which is up to one
   * renewal period before the next regular round would see it: a round then keeps the failover
   * (and the time its accounts go without a drawdown check) near LEASE_TTL_MS.
   */
  private roundAtExpiry(inMs: number | undefined): void {
    this.cancelExpiryRound?.();
    this.cancelExpiryRound = undefined;
    if (inMs === undefined || inMs >= this.settings.leaseRenewMs) return;
    this.cancelExpiryRound = this.ports.scheduler.after(Math.max(0, inMs) + EXPIRY_ROUND_DELAY_MS, () => {
      this.cancelExpiryRound = undefined;
      this.tick();
    });
  }

  private async renew(): Promise<void> {
    const leases = [...this.held.values()].map((held) => held.lease);
    if (leases.length === 0) return;
    const startedAt = this.ports.clock.now();
    const { renewed, lost } = await this.ports.store.renew(
      this.settings.processId,
      leases,
      this.settings.leaseTtlMs,
    );
    const validUntil = startedAt + this.settings.leaseTtlMs - this.marginMs;
    const renewedIds = new Set<string>();
    for (const lease of renewed) {
      const held = this.held.get(lease.accountId);
      // A lease dropped meanwhile (its validity ran out while the call hung) stays dropped.
      if (held === undefined || held.lease.epoch !== lease.epoch) continue;
      held.validUntil = Math.max(held.validUntil, validUntil);
      renewedIds.add(lease.accountId);
    }
    for (const lease of lost) this.dropIfHeld(lease, 'taken_over');
    // A lease the store said nothing about is not proven held.
    for (const lease of leases) if (!renewedIds.has(lease.accountId)) this.dropIfHeld(lease, 'taken_over');
  }

  private async acquire(max: number): Promise<void> {
    const startedAt = this.ports.clock.now();
    const { processId, leaseTtlMs } = this.settings;
    const gained = await this.ports.store.acquire(processId, max, leaseTtlMs);
    if (gained.length === 0) return;
    if (this.stopped) {
      // Stopped (handed over) while acquiring: give them back rather than hold them to the TTL.
      await this.ports.store.release(processId, gained);
      return;
    }
    const validUntil = startedAt + leaseTtlMs - this.marginMs;
    let takeovers = 0;
    for (const lease of gained) {
      this.held.set(lease.accountId, { lease: { ...lease }, validUntil });
      this.lastEpochs.set(lease.accountId, lease.epoch);
      if (lease.epoch > 1) takeovers++;
    }
    this.takeovers += takeovers;
    this.ports.logger.info({ accounts: gained.length, takeovers, owned: this.held.size }, 'ownership_gained');
    for (const lease of gained) this.notify(() => this.listener.onGained({ ...lease }), lease);
  }

  private async shed(count: number): Promise<void> {
    // The most recently acquired go first: the longest-held keep their warm state.
    const leases = [...this.held.values()].slice(-count).map((held) => held.lease);
    // Trading stops first, then the database is told: never two traders at once.
    for (const lease of leases) this.drop(lease, 'released');
    this.ports.logger.info({ accounts: leases.length, owned: this.held.size }, 'ownership_shed');
    await this.ports.store.release(this.settings.processId, leases);
  }

  private dropIfHeld(lease: Lease, why: OwnershipLossReason): void {
    const held = this.held.get(lease.accountId);
    if (held !== undefined && held.lease.epoch === lease.epoch) this.drop(held.lease, why);
  }

  private drop(lease: Lease, why: OwnershipLossReason): void {
    this.held.delete(lease.accountId);
    this.lost[why]++;
    if (why !== 'released')
      this.ports.logger.warn({ account: lease.accountId, epoch: lease.epoch, why }, 'ownership_lost');
    this.notify(() => this.listener.onLost({ ...lease }, why), lease);
  }

  /** A listener that throws must not stop the rounds (nor leave the other accounts unannounced). */
  private notify(call: () => void, lease: Lease): void {
    try {
      call();
    } catch (error) {
      this.ports.logger.error(
        { account: lease.accountId, epoch: lease.epoch, err: describe(error) },
        'ownership_listener_failed',
      );
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
