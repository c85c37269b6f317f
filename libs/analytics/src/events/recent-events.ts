import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EventBus } from '@app/common';
import { BoundedQueue, type TradingEvent } from '@app/core';
import { isPublished, viewOf, type EventView } from './event-view';
import { ACCOUNT_RECENT_EVENTS_CAPACITY, RECENT_EVENTS_CAPACITY } from './recent-events-capacity';

/**
 * The last events for GET /api/v1/events, in fixed memory: the process's last
 * RECENT_EVENTS_CAPACITY (every account's and its own), and each account's own last
 * ACCOUNT_RECENT_EVENTS_CAPACITY (docs/accounts.md), so a quiet account's events are not pushed
 * out by a busy one's. An account's ring is made at its first event.
 */
@Injectable()
export class RecentEvents implements OnModuleDestroy {
  // Raw events: the view is made when someone asks, not on the hot path of every publish.
  private readonly ring = new BoundedQueue<TradingEvent>(RECENT_EVENTS_CAPACITY);
  private readonly byAccount = new Map<string, BoundedQueue<TradingEvent>>();
  private readonly unsubscribe: () => void;

  // Subscribed at construction, not at bootstrap, so events published while other modules start are kept.
  constructor(events: EventBus) {
    this.unsubscribe = events.subscribe((event) => {
      if (!isPublished(event.type)) return;
      this.ring.push(event);
      if (event.account_id === undefined) return;
      let ring = this.byAccount.get(event.account_id);
      if (ring === undefined) {
        ring = new BoundedQueue<TradingEvent>(ACCOUNT_RECENT_EVENTS_CAPACITY);
        this.byAccount.set(event.account_id, ring);
      }
      ring.push(event);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** The newest `limit` events of the process, newest last. */
  last(limit: number): EventView[] {
    return this.ring.last(limit).map(viewOf);
  }

  /** The newest `limit` events about one account, newest last. */
  lastOf(accountId: string, limit: number): EventView[] {
    return (this.byAccount.get(accountId)?.last(limit) ?? []).map(viewOf);
  }
}
