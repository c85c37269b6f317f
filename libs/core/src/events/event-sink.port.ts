import type { TradingEventMap, TradingEventType } from './trading-events';

/**
 * Where domain events go: one log line each, the event stream, webhooks, listeners. Publishing
 * never throws into the publisher.
 */
export interface EventSink {
  publish<K extends TradingEventType>(type: K, payload: TradingEventMap[K]): void;
}

export const EVENT_SINK = Symbol('EVENT_SINK');
