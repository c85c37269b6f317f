import { setNewest } from '../collections/set-newest';
import type { TradingEvent } from '../events/trading-events';

/**
 * When signals arrived, told from an account's events. A signal that arrives while trading runs
 * is announced by `signal_received`; one that arrives while halted is only refused
 * (`signal_rejected`, reason `halted`, docs/service.md). A signal received before a halt and
 * refused at execution gets the same refusal later, so a `halted` refusal is an arrival only
 * when its signal was not received before: the signals received and not yet ended are
 * remembered, at most `maxInFlight` of them (the oldest are forgotten first).
 *
 * Known blur: a signal received before the events fed here (before the window) and refused as
 * halted inside it is taken as an arrival at its refusal.
 */
export const DEFAULT_MAX_IN_FLIGHT_SIGNALS = 10_000;

export class SignalArrivals {
  private readonly inFlight = new Map<string, true>();

  constructor(private readonly maxInFlight = DEFAULT_MAX_IN_FLIGHT_SIGNALS) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a positive integer, got ${maxInFlight}`);
    }
  }

  /** Feeds one event; true when it is a signal's arrival. */
  observe(event: TradingEvent): boolean {
    switch (event.type) {
      case 'signal_received':
        setNewest(this.inFlight, event.payload.signal_id, true, this.maxInFlight);
        return true;
      case 'signal_rejected': {
        const received = this.inFlight.delete(event.payload.signal_id);
        return !received && event.payload.reason === 'halted';
      }
      case 'trade_executed':
      case 'trade_failed':
      case 'positions_closed':
        this.inFlight.delete(event.payload.signal_id);
        return false;
      default:
        return false;
    }
  }

  /** Signals received and not ended yet (bounded by maxInFlight). */
  get pending(): number {
    return this.inFlight.size;
  }
}
