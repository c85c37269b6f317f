import { Inject, Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { PinoLogger } from 'nestjs-pino';
import type { Clock, EventSink, TradingEvent, TradingEventMap, TradingEventType } from '@app/core';
import { CLOCK } from '@app/config';

export type TradingEventListener = (event: TradingEvent) => void;

/** High-frequency samples that feed analytics; logged at debug so the info log stays readable. */
const DEBUG_LEVEL_EVENTS: ReadonlySet<TradingEventType> = new Set(['equity_sample']);

/**
 * The one way domain events leave their producer: each becomes one info log line whose `type`
 * names it (docs/service.md, Logs), then goes to `@OnEvent` listeners and subscribers (event stream,
 * webhooks). Publishing never throws into the publisher: a failing subscriber is logged and counted.
 */
@Injectable()
export class EventBus implements EventSink {
  private readonly subscribers = new Set<TradingEventListener>();
  private listenerFailureCount = 0;

  constructor(
    private readonly emitter: EventEmitter2,
    private readonly logger: PinoLogger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.logger.setContext('events');
  }

  publish<K extends TradingEventType>(type: K, payload: TradingEventMap[K], accountId?: string): void {
    // The mapped union cannot be narrowed from a generic K; the shape is right by construction.
    const event = (accountId === undefined
      ? { type, at: this.clock.now(), payload }
      : { type, at: this.clock.now(), account_id: accountId, payload }) as unknown as TradingEvent;
    const line = accountId === undefined ? { type, ...payload } : { type, account_id: accountId, ...payload };
    if (DEBUG_LEVEL_EVENTS.has(type)) this.logger.debug(line);
    else this.logger.info(line);
    for (const subscriber of this.subscribers) {
      try {
        subscriber(event);
      } catch (error) {
        this.reportListenerFailure(type, error);
      }
    }
    try {
      this.emitter.emit(type, event);
    } catch (error) {
      this.reportListenerFailure(type, error);
    }
  }

  /** Every event, in order, synchronously. Subscribers must not block: queue and return. */
  subscribe(listener: TradingEventListener): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  /** `@OnEvent` handlers call this from their own catch: Nest would swallow their errors otherwise. */
  reportListenerFailure(type: string, error: unknown): void {
    this.listenerFailureCount++;
    this.logger.error({ err: error, event_type: type }, 'event listener failed');
  }

  get listenerFailures(): number {
    return this.listenerFailureCount;
  }
}
