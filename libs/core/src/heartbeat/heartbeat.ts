import type { EventSink } from '../events/event-sink.port';
import type { HeartbeatMetrics, TradingEventMap, TradingEventType } from '../events/trading-events';
import { roundMoneyOrNull, roundPercentOrNull } from '../numbers/output-precision';
import type { Clock } from '../time/clock';
import type { Cancel, Scheduler } from '../time/scheduler';
import type { LoopProgress } from './loop-progress';
import { TradingCounters } from './trading-counters';

/**
 * Where the heartbeat's time goes besides the log: the watchdog thread reads it from shared
 * memory, so it can alert even while the main thread is frozen.
 */
export interface HeartbeatStamp {
  stamp(now: number): void;
}

export const HEARTBEAT_STAMP = Symbol('HEARTBEAT_STAMP');

export interface HeartbeatPorts {
  progress: LoopProgress;
  counters: TradingCounters;
  account(): { openPositions: number | null; equity: number | null; drawdownPercent: number | null };
  events: EventSink;
  stamp: HeartbeatStamp;
  scheduler: Scheduler;
  clock: Clock;
}

/**
 * The heartbeat (docs/service.md, Logs): every HEARTBEAT_INTERVAL_MS a `heartbeat` event, but only
 * when the trading loop completed a tick since the previous one, so a wedged tick or a frozen
 * main thread stops heartbeats and the watchdog and liveness see it. Counts are cumulative.
 */
export class Heartbeat {
  private cancel: Cancel | undefined;

  constructor(
    private readonly settings: { intervalMs: number; loopId: string },
    private readonly ports: HeartbeatPorts,
  ) {}

  start(): void {
    this.ports.stamp.stamp(this.ports.clock.now()); // start of the staleness clock
    this.cancel = this.ports.scheduler.every(this.settings.intervalMs, () => this.beat());
  }

  stop(): void {
    this.cancel?.();
  }

  /** One heartbeat period: emit if the loop made progress. Returns whether it emitted. */
  beat(): boolean {
    const { progress } = this.ports;
    if (!progress.heartbeatDue()) return false;
    const now = this.ports.clock.now();
    const account = this.ports.account();
    const metrics: HeartbeatMetrics = {
      ...this.ports.counters.snapshot(),
      open_positions: account.openPositions ?? 0,
      equity: roundMoneyOrNull(account.equity),
      drawdown_percent: roundPercentOrNull(account.drawdownPercent),
      loop_duration_ms: progress.lastTickDurationMs,
    };
    progress.heartbeatEmitted(now);
    this.ports.stamp.stamp(now);
    this.ports.events.publish('heartbeat', { loop_id: this.settings.loopId, metrics });
    return true;
  }
}

/** An event sink that keeps the heartbeat's cumulative counts of what passes through it. */
export function countingEvents(sink: EventSink, counters: TradingCounters): EventSink {
  return {
    publish<K extends TradingEventType>(type: K, payload: TradingEventMap[K]): void {
      switch (type) {
        case 'signal_received':
          counters.signals++;
          break;
        case 'trade_executed':
          counters.trades++;
          break;
        case 'positions_closed':
          counters.trades += (payload as TradingEventMap['positions_closed']).closed;
          break;
        case 'trade_failed':
          counters.errors++;
          break;
        default:
          break;
      }
      sink.publish(type, payload);
    },
  };
}
