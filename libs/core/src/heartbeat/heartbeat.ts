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
 * its completed passes: an equity check that read the equity (`equity_sample`), a signal that
 * reached an outcome.
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
        case 'positions_closed':
          counters.trades += (payload as TradingEventMap['positions_closed']).closed;
          progress.passCompleted(now());
          break;
        case 'trade_failed':
          counters.errors++;
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
