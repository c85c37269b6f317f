import type { BrokerResult } from '../broker/broker-error';
import type { Position } from '../broker/broker-types';
import type { Clock } from '../time/clock';

/** A listing of the account's positions and when it was asked (what it can prove starts there). */
export interface AskedListing {
  askedAt: number;
  listed: BrokerResult<Position[]>;
}

/**
 * One positions listing shared by every settlement that asks while it is being asked for. A
 * settlement may only use a listing asked no earlier than its own request (a listing proves
 * absence only from when it was asked), so a caller that arrives while one is in flight joins
 * the next, which starts when that one ends. At most two listings per account are in flight, however
 * many signals look for their orders at once (a takeover with a backlog restores hundreds, each
 * looking for its order in a listing of thousands of positions).
 */
export class SharedPositionsListing {
  private inFlight: Promise<AskedListing> | undefined;
  private next: Promise<AskedListing> | undefined;

  constructor(
    private readonly list: () => Promise<BrokerResult<Position[]>>,
    private readonly clock: Clock,
  ) {}

  /** A listing asked at or after this call. */
  ask(): Promise<AskedListing> {
    const current = this.inFlight;
    if (current === undefined) return this.start();
    this.next ??= current.then(
      () => this.startNext(),
      () => this.startNext(),
    );
    return this.next;
  }

  private startNext(): Promise<AskedListing> {
    this.next = undefined;
    return this.start();
  }

  private start(): Promise<AskedListing> {
    const askedAt = this.clock.now();
    const listing = this.list().then((listed) => ({ askedAt, listed }));
    this.inFlight = listing;
    const clear = () => {
      if (this.inFlight === listing) this.inFlight = undefined;
    };
    listing.then(clear, clear);
    return listing;
  }
}
