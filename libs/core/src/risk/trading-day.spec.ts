import { isValidTimeZone, tradingDayKey } from './trading-day';

const at = (iso: string): number => Date.parse(iso);

describe('tradingDayKey', () => {
  it('is the calendar date in the zone', () => {
    expect(tradingDayKey(at('2026-11-24T10:00:00Z'), 'UTC')).toBe('2026-11-24');
    expect(tradingDayKey(at('2026-11-24T23:30:00Z'), 'Europe/Prague')).toBe('2026-11-25');
    expect(tradingDayKey(at('2026-11-24T03:00:00Z'), 'America/New_York')).toBe('2026-11-23');
  });

  it('Europe/Prague: the day starts at local midnight on both sides of the October 2026 DST end', () => {
    // 25 Oct 2026 starts at 00:00 CEST (22:00Z the day before) and lasts 25 hours.
    expect(tradingDayKey(at('2026-10-24T21:59:59.999Z'), 'Europe/Prague')).toBe('2026-10-24');
    expect(tradingDayKey(at('2026-10-24T22:00:00.000Z'), 'Europe/Prague')).toBe('2026-10-25');
    expect(tradingDayKey(at('2026-10-25T01:00:00.000Z'), 'Europe/Prague')).toBe('2026-10-25'); // the repeated hour
    // 26 Oct starts at 00:00 CET, which is 23:00Z.
    expect(tradingDayKey(at('2026-10-25T22:59:59.999Z'), 'Europe/Prague')).toBe('2026-10-25');
    expect(tradingDayKey(at('2026-10-25T23:00:00.000Z'), 'Europe/Prague')).toBe('2026-10-26');
  });

  it('America/New_York: the day starts at local midnight on both sides of the March 2026 DST start', () => {
    // 8 Mar 2026 starts at 00:00 EST (05:00Z) and lasts 23 hours.
    expect(tradingDayKey(at('2026-03-08T04:59:59.999Z'), 'America/New_York')).toBe('2026-03-07');
    expect(tradingDayKey(at('2026-03-08T05:00:00.000Z'), 'America/New_York')).toBe('2026-03-08');
    // 9 Mar starts at 00:00 EDT, which is 04:00Z.
    expect(tradingDayKey(at('2026-03-09T03:59:59.999Z'), 'America/New_York')).toBe('2026-03-08');
    expect(tradingDayKey(at('2026-03-09T04:00:00.000Z'), 'America/New_York')).toBe('2026-03-09');
  });

  it('rejects unknown zones and non-finite times', () => {
    expect(() => tradingDayKey(0, 'Mars/Olympus')).toThrow(RangeError);
    expect(() => tradingDayKey(Number.NaN, 'UTC')).toThrow(RangeError);
    expect(isValidTimeZone('Europe/Prague')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});
