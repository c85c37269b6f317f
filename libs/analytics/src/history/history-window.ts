import { BadRequestException } from '@nestjs/common';
import type { HistoryWindow } from '@app/core';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Without `from`: the 24 h before `to` (docs/history.md). */
export const DEFAULT_HISTORY_WINDOW_MS = DAY_MS;
/** The longest window a history route answers: 92 days, so the default retention (90) fits in one. */
export const MAX_HISTORY_WINDOW_MS = 92 * DAY_MS;

/** A date, or a date and time with `Z` or an offset (a time without a zone would be the server's). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

export interface WindowQuery {
  from?: unknown;
  to?: unknown;
}

/**
 * The window of a history route from its `from` and `to` (ISO-8601; `to` defaults to now, `from`
 * to 24 h before `to`), or a 400 naming the parameter that is wrong.
 */
export function parseHistoryWindow(query: WindowQuery, now: number): HistoryWindow {
  const to = query.to === undefined ? now : instant('to', query.to);
  const from = query.from === undefined ? to - DEFAULT_HISTORY_WINDOW_MS : instant('from', query.from);
  if (to <= from) throw invalid('to', 'later than from');
  if (to - from > MAX_HISTORY_WINDOW_MS) throw invalid('from', 'at most 92 days before to');
  return { from, to };
}

function instant(field: 'from' | 'to', raw: unknown): number {
  const at = typeof raw === 'string' && ISO_8601.test(raw) && dayExists(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(at))
    throw invalid(field, 'an ISO-8601 date or time with Z or an offset, e.g. 2026-11-30T09:00:00Z');
  return at;
}

/** `2026-02-30` parses (as 2 March): a date that does not exist is refused, not moved. */
function dayExists(raw: string): boolean {
  const year = Number(raw.slice(0, 4));
  const month = Number(raw.slice(5, 7));
  const day = Number(raw.slice(8, 10));
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= days;
}

export function invalid(field: string, message: string): BadRequestException {
  return new BadRequestException({
    status: 'refused',
    reason: 'invalid_query',
    errors: [{ field, message }],
  });
}
