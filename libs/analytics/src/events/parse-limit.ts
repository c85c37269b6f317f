import { RECENT_EVENTS_CAPACITY } from './recent-events-capacity';

const DEFAULT_LIMIT = 100;

/** `limit`: an integer 1..RECENT_EVENTS_CAPACITY written in plain digits; absent means DEFAULT_LIMIT. */
export function parseLimit(raw: unknown): number | null {
  if (raw === undefined) return DEFAULT_LIMIT;
  if (typeof raw !== 'string' || !/^\d{1,7}$/.test(raw)) return null;
  const limit = Number(raw);
  return limit >= 1 && limit <= RECENT_EVENTS_CAPACITY ? limit : null;
}
