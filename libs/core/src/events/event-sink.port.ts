import type { TradingEventMap, TradingEventType } from './trading-events';

/**
 * Where domain events go: one log line each, the event stream, webhooks, listeners. Publishing
 * never throws into the publisher. `accountId` names the account the event is about
 * (docs/accounts.md: every event about an account carries `account_id`).
 */
export interface EventSink {
  publish<K extends TradingEventType>(type: K, payload: TradingEventMap[K], accountId?: string): void;
}

/** The sink one account's runtime publishes to: every event it publishes carries its id. */
export function accountEvents(sink: EventSink, accountId: string): EventSink {
  return {
    publish: <K extends TradingEventType>(type: K, payload: TradingEventMap[K]) =>
      sink.publish(type, payload, accountId),
  };
}

export const EVENT_SINK = Symbol('EVENT_SINK');
