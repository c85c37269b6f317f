import { isCapTrigger, type TradingEvent } from '../events/trading-events';
import { SignalArrivals } from './signal-arrivals';
import { WhatIfReplay, type WhatIfOptions, type WhatIfReplayResult } from './what-if-replay';

/**
 * The what-if answer (docs/history.md, What if) from a window of an account's
 * history, fed one event at a time, oldest first: the replay's inputs (equity samples, signal
 * arrivals, real resumes and the equity they re-baselined to) go straight into a `WhatIfReplay`
 * rather than into arrays, so memory stays fixed however long the window. Beside the replay, the
 * real figures:
 * - `real_triggers`: `drawdown_cap_triggered` of the total or the daily cap;
 * - `manual_halts`: `halted` with source `manual`;
 * - `trades_missed_due_to_halt`: `signal_rejected` with reason `halted` (on arrival or at
 *   execution).
 */
export interface WhatIfReport extends WhatIfReplayResult {
  real_triggers: number;
  manual_halts: number;
  trades_missed_due_to_halt: number;
}

export interface WhatIfHistoryOptions extends WhatIfOptions {
  /** Signals received and not yet ended that are remembered to tell arrivals (see SignalArrivals). */
  maxInFlightSignals?: number;
}

export class WhatIfHistoryFold {
  private readonly replay: WhatIfReplay;
  private readonly arrivals: SignalArrivals;
  private realTriggers = 0;
  private manualHalts = 0;
  private missedDueToHalt = 0;

  /** Invalid caps or window throw a RangeError (see WhatIfReplay). */
  constructor(options: WhatIfHistoryOptions) {
    this.replay = new WhatIfReplay(options);
    this.arrivals = new SignalArrivals(options.maxInFlightSignals);
  }

  /** Feeds one event, oldest first; an event outside the window is ignored (false). */
  add(event: TradingEvent): boolean {
    const { from, to } = this.replay.window;
    if (!Number.isFinite(event.at) || event.at < from || event.at >= to) return false;
    if (this.arrivals.observe(event)) this.replay.signal(event.at);
    switch (event.type) {
      case 'equity_sample':
        this.replay.equity(event.at, event.payload.equity);
        break;
      case 'resumed':
        this.replay.resume(event.at, event.payload.baseline_equity);
        break;
      case 'drawdown_cap_triggered':
        if (isCapTrigger(event.payload.cap)) this.realTriggers += 1;
        break;
      case 'halted':
        if (event.payload.source === 'manual') this.manualHalts += 1;
        break;
      case 'signal_rejected':
        if (event.payload.reason === 'halted') this.missedDueToHalt += 1;
        break;
      default:
        break;
    }
    return true;
  }

  result(): WhatIfReport {
    return {
      ...this.replay.result(),
      real_triggers: this.realTriggers,
      manual_halts: this.manualHalts,
      trades_missed_due_to_halt: this.missedDueToHalt,
    };
  }
}
