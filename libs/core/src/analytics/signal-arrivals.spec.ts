import type { TradingEvent } from '../events/trading-events';
import { SignalArrivals } from './signal-arrivals';

const received = (id: string): TradingEvent => ({
  type: 'signal_received',
  at: 0,
  payload: { signal_id: id, instrument: 'EURUSD', side: 'buy', volume: 1, source: 't', created_at: '' },
});
const rejectedHalted = (id: string): TradingEvent => ({
  type: 'signal_rejected',
  at: 0,
  payload: { signal_id: id, reason: 'halted' },
});
const failed = (id: string): TradingEvent => ({
  type: 'trade_failed',
  at: 0,
  payload: { signal_id: id, reason: 'NO_MONEY', attempts: 1 },
});

describe('SignalArrivals', () => {
  it('forgets a signal once it ended, so memory follows the signals in flight', () => {
    const arrivals = new SignalArrivals();
    expect(arrivals.observe(received('a'))).toBe(true);
    expect(arrivals.pending).toBe(1);
    expect(arrivals.observe(failed('a'))).toBe(false);
    expect(arrivals.pending).toBe(0);
  });

  it('remembers at most maxInFlight signals, forgetting the oldest first', () => {
    const arrivals = new SignalArrivals(2);
    for (const id of ['a', 'b', 'c']) arrivals.observe(received(id));
    expect(arrivals.pending).toBe(2);
    // 'a' was forgotten, so its halted refusal reads as an arrival; 'c' is still known.
    expect(arrivals.observe(rejectedHalted('a'))).toBe(true);
    expect(arrivals.observe(rejectedHalted('c'))).toBe(false);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new SignalArrivals(0)).toThrow(RangeError);
  });
});
