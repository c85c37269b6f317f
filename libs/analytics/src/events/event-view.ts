import type { TradingEvent, TradingEventType } from '@app/core';

/**
 * How an event looks outside the process (events API, live stream, webhooks): its type, when it
 * happened (ISO-8601), the account it is about, and its payload fields, flat, as in the log line.
 */
export type EventView = { type: TradingEventType; at: string } & Record<string, unknown>;

/**
 * Published every equity check (1 s by default) to feed the drawdown curve; kept out of the
 * events API, the stream and webhooks so they are not drowned by it (the curve is in
 * /api/v1/analytics, every sample is a debug log line).
 */
const ANALYTICS_ONLY_EVENTS: ReadonlySet<TradingEventType> = new Set<TradingEventType>(['equity_sample']);

export function isPublished(type: TradingEventType): boolean {
  return !ANALYTICS_ONLY_EVENTS.has(type);
}

export function toEventView(event: TradingEvent): EventView {
  const at = new Date(event.at).toISOString();
  return event.account_id === undefined
    ? { type: event.type, at, ...event.payload }
    : { type: event.type, at, account_id: event.account_id, ...event.payload };
}

/**
 * The view and its JSON, made once per event however many outputs (ring, stream, webhooks) want
 * it: every subscriber receives the same event object, so it keys the cache and is collected with it.
 */
const rendered = new WeakMap<TradingEvent, { view: EventView; json?: string }>();

export function viewOf(event: TradingEvent): EventView {
  let entry = rendered.get(event);
  if (entry === undefined) {
    entry = { view: toEventView(event) };
    rendered.set(event, entry);
  }
  return entry.view;
}

export function jsonOf(event: TradingEvent): string {
  viewOf(event);
  const entry = rendered.get(event)!;
  entry.json ??= JSON.stringify(entry.view);
  return entry.json;
}

/** One Server-Sent Events message: `event: <type>` and the JSON on one `data:` line (JSON has no raw newlines). */
export function sseFrame(type: string, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`;
}

/** A comment line: ignored by EventSource, but keeps proxies and load balancers from closing an idle stream. */
export const SSE_KEEPALIVE = ': keep-alive\n\n';
