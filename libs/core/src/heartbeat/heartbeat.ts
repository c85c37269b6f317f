import type { EventSink } from '../events/event-sink.port';
import type { TradingEventMap, TradingEventType } from '../events/trading-events';
import type { AccountProgress } from './account-progress';
import type { TradingCounters } from './trading-counters';

/**
 * Where the heartbeat's time goes besides the log: the watchdog thread reads it from shared
 * memory, so it can alert even while the main thread is frozen.
 */
export interface HeartbeatStamp {
  stamp(now: number): void;
}

export const HEARTBEAT_STAMP = Symbol('HEARTBEAT_STAMP');

/**
 * An event sink that keeps an account's heartbeat counts of what passes through it, and marks
 * its completed passes: an equity check that read the equity (`equity_sample`), an order the
 * broker answered (filled, or refused with a retcode), a close of every position it was asked for.
 */
export function countingEvents(
  sink: EventSink,
  counters: TradingCounters,
  progress: AccountProgress,
  now: () => number,
): EventSink {
  return {
    publish<K extends TradingEventType>(type: K, payload: TradingEventMap[K]): void {
      switch (type) {
        case 'signal_received':
          counters.signals++;
          break;
        case 'trade_executed':
          counters.trades++;
          progress.passCompleted(now());
          break;
        case 'positions_closed': {
          const closing = payload as TradingEventMap['positions_closed'];
          counters.trades += closing.closed;
          if (closing.failed === 0) progress.passCompleted(now());
          break;
        }
        case 'trade_failed':
          counters.errors++;
          // Only a failure the broker itself answered (a retcode) shows it works; a timeout or an
          // unreadable equity is the very trouble staleness is there to show.
          if ((payload as TradingEventMap['trade_failed']).retcode !== undefined)
            progress.passCompleted(now());
          break;
        case 'equity_sample':
          progress.passCompleted(now());
          break;
        default:
          break;
      }
      sink.publish(type, payload);
    },
  };
}
