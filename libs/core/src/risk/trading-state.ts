/**
 * The trading state of one account, and the one place that answers "may a position open now?"
 * (docs/risk.md). Closing is always allowed; opening only while `active`.
 *
 * - `active`: opens allowed.
 * - `reducing`: the latest equity read breached a cap that is not confirmed yet; nothing new
 *   opens until a read says otherwise (or the trigger halts the account).
 * - `halted`: the latch holds; every position is being, or has been, closed; a person resumes.
 * - `blind`: equity could not be read several times in a row; drawdown cannot be measured.
 * - `stopping`: the process is stopping (or lost the account): no new work.
 */
export type TradingState = 'active' | 'reducing' | 'halted' | 'blind' | 'stopping';

/** Why an open is refused, as signals and events name it. */
export type OpenRefusal = 'halted' | 'equity_unavailable' | 'drawdown_cap' | 'daily_cap' | 'stopping';

export interface TradingStateInputs {
  halted: boolean;
  stopping: boolean;
  /** EquityReadTracker.blocked: too many failed reads in a row. */
  blind: boolean;
  /** The cap the latest read breached, confirmed or not; null when it breached none. */
  breach: 'drawdown_cap' | 'daily_cap' | null;
}

/** Precedence: a latch outranks everything, then a stop, then blindness, then a breach. */
export function tradingState(inputs: TradingStateInputs): TradingState {
  if (inputs.halted) return 'halted';
  if (inputs.stopping) return 'stopping';
  if (inputs.blind) return 'blind';
  if (inputs.breach !== null) return 'reducing';
  return 'active';
}

/** Why no position may open in this state (null: it may), from the same inputs. */
export function openRefusal(inputs: TradingStateInputs): OpenRefusal | null {
  switch (tradingState(inputs)) {
    case 'active':
      return null;
    case 'halted':
      return 'halted';
    case 'stopping':
      return 'stopping';
    case 'blind':
      return 'equity_unavailable';
    case 'reducing':
      return inputs.breach ?? 'drawdown_cap';
  }
}
