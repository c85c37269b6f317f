import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EventBus } from '@app/common';
import { BoundedQueue, type TradingEvent } from '@app/core';
import { isPublished, viewOf, type EventView } from './event-view';
import { RECENT_EVENTS_CAPACITY } from './recent-events-capacity';

/** The last RECENT_EVENTS_CAPACITY events for GET /api/v1/events, in fixed memory. */
@Injectable()
export class RecentEvents implements OnModuleDestroy {
  // Raw events: the view is made when someone asks, not on the hot path of every publish.
  private readonly ring = new BoundedQueue<TradingEvent>(RECENT_EVENTS_CAPACITY);
  private readonly unsubscribe: () => void;

  // Subscribed at construction, not at bootstrap, so events published while other modules start are kept.
  constructor(events: EventBus) {
    this.unsubscribe = events.subscribe((event) => {
      if (isPublished(event.type)) this.ring.push(event);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** The newest `limit` events, newest last. */
  last(limit: number): EventView[] {
    return this.ring.last(limit).map(viewOf);
  }
}
