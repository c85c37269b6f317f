import type { TradingEvent } from '@app/core';
import { isPublished, sseFrame, toEventView } from './event-view';

describe('event view', () => {
  const event: TradingEvent = {
    type: 'signal_approved',
    at: Date.UTC(2026, 10, 24, 10, 0, 0, 250),
    payload: { signal_id: 'sig-1', approval_time_ms: 0, approved_by: 'auto' },
  };

  it('flattens the payload beside the type and an ISO time', () => {
    expect(toEventView(event)).toEqual({
      type: 'signal_approved',
      at: '2026-11-24T10:00:00.250Z',
      signal_id: 'sig-1',
      approval_time_ms: 0,
      approved_by: 'auto',
    });
  });

  it('frames an SSE message as event and one data line, ended by a blank line', () => {
    const json = JSON.stringify({ text: 'two\nlines' });
    const frame = sseFrame('trade_executed', json);
    expect(frame).toBe(`event: trade_executed\ndata: {"text":"two\\nlines"}\n\n`);
    expect(frame.split('\n')).toHaveLength(4); // the escaped newline stays inside the data line
  });

  it('keeps equity samples to analytics and publishes the rest', () => {
    expect(isPublished('equity_sample')).toBe(false);
    expect(isPublished('trade_executed')).toBe(true);
    expect(isPublished('drawdown_reduction')).toBe(true);
  });
});
