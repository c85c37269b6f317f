/**
 * The trading day an instant belongs to: its calendar date in `timeZone` ('2026-11-24'), so the
 * day starts at local midnight in that zone, DST included (Intl does the zone arithmetic).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    // Throws a RangeError for an unknown zone; config validation should have caught it first.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      calendar: 'gregory',
      numberingSystem: 'latn',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export function tradingDayKey(epochMs: number, timeZone: string): string {
  if (!Number.isFinite(epochMs))
    throw new RangeError(`tradingDayKey needs a finite epoch, got ${String(epochMs)}`);
  let year = '';
  let month = '';
  let day = '';
  for (const part of formatterFor(timeZone).formatToParts(epochMs)) {
    if (part.type === 'year') year = part.value;
    else if (part.type === 'month') month = part.value;
    else if (part.type === 'day') day = part.value;
  }
  return `${year.padStart(4, '0')}-${month}-${day}`;
}

/** True when `timeZone` is an IANA zone this runtime knows (for config validation). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}
