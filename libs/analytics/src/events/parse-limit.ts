import { RECENT_EVENTS_CAPACITY } from './recent-events-capacity';

const DEFAULT_LIMIT = 100;

/** `limit`: an integer 1..capacity written in plain digits; absent means DEFAULT_LIMIT (or the capacity, if smaller). */
export function parseLimit(raw: unknown, capacity: number = RECENT_EVENTS_CAPACITY): number | null {
  if (raw === undefined) return Math.min(DEFAULT_LIMIT, capacity);
  if (typeof raw !== 'string' || !/^\d{1,7}$/.test(raw)) return null;
  const limit = Number(raw);
  return limit >= 1 && limit <= capacity ? limit : null;
}
