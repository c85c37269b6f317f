import { BadRequestException } from '@nestjs/common';
import { parseHistoryWindow } from './history-window';

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const HOUR = 3_600_000;

function fieldOf(query: { from?: unknown; to?: unknown }): string {
  try {
    parseHistoryWindow(query, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return ((error as BadRequestException).getResponse() as { errors: { field: string }[] }).errors[0].field;
  }
  throw new Error('accepted');
}

describe('parseHistoryWindow', () => {
  it('defaults to the last 24 h, and `from` to 24 h before a given `to`', () => {
    expect(parseHistoryWindow({}, NOW)).toEqual({ from: NOW - 24 * HOUR, to: NOW });
    expect(parseHistoryWindow({ to: '2026-11-29T00:00:00Z' }, NOW)).toEqual({
      from: Date.UTC(2026, 10, 28),
      to: Date.UTC(2026, 10, 29),
    });
  });

  it('takes dates, times with Z or an offset', () => {
    expect(parseHistoryWindow({ from: '2026-11-30', to: '2026-11-30T10:00:00+01:00' }, NOW)).toEqual({
      from: Date.UTC(2026, 10, 30),
      to: Date.UTC(2026, 10, 30, 9),
    });
  });

  it('names the parameter that is wrong', () => {
    expect(fieldOf({ from: 'yesterday' })).toBe('from');
    expect(fieldOf({ from: ['2026-11-30', '2026-11-29'] })).toBe('from');
    expect(fieldOf({ to: '2026-11-30T10:00:00' })).toBe('to');
    expect(fieldOf({ from: '2026-11-30T10:00:00Z', to: '2026-11-30T10:00:00Z' })).toBe('to');
    expect(fieldOf({ from: '2026-08-29T11:59:59Z', to: '2026-11-30T12:00:00Z' })).toBe('from');
    expect(parseHistoryWindow({ from: '2026-08-30T12:00:00Z', to: '2026-11-30T12:00:00Z' }, NOW).from).toBe(
      Date.UTC(2026, 7, 30, 12),
    );
  });
});
