import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { TradingCounters, type Clock, type HeartbeatMetrics, type TradingEvent } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { DrawdownGuard } from '@app/drawdown';
import { EventBus } from '@app/common';
import { TradingLoop } from '../loop/trading-loop';
import { HEARTBEAT_STAMP, type HeartbeatStamp } from './heartbeat-stamp';

const HEARTBEAT_INTERVAL = 'heartbeat';

/**
 * Emits the `heartbeat` event every HEARTBEAT_INTERVAL_MS, but only when the trading loop
 * completed a tick since the previous heartbeat: a wedged tick or a frozen main thread stops
 * heartbeats, and the watchdog and liveness see it. Counts are cumulative, taken from events.
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnModuleDestroy {
  readonly counters = new TradingCounters();
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(HEARTBEAT_STAMP) private readonly stamp: HeartbeatStamp,
    private readonly loop: TradingLoop,
    private readonly guard: DrawdownGuard,
    private readonly events: EventBus,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.events.subscribe((event) => this.count(event));
    this.stamp.stamp(this.clock.now()); // start of the staleness clock
    this.scheduler.addInterval(
      HEARTBEAT_INTERVAL,
      setInterval(() => this.beat(), this.config.heartbeatIntervalMs),
    );
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    if (this.scheduler.doesExist('interval', HEARTBEAT_INTERVAL))
      this.scheduler.deleteInterval(HEARTBEAT_INTERVAL);
  }

  /** One heartbeat period: emit if the loop made progress. Returns whether it emitted. */
  beat(): boolean {
    const progress = this.loop.progress;
    if (!progress.heartbeatDue()) return false;
    const now = this.clock.now();
    const risk = this.guard.snapshot();
    const metrics: HeartbeatMetrics = {
      ...this.counters.snapshot(),
      open_positions: risk.openPositions ?? 0,
      equity: risk.equity,
      drawdown_percent:
        risk.drawdownPercent === null ? null : Math.round(risk.drawdownPercent * 10_000) / 10_000,
      loop_duration_ms: progress.lastTickDurationMs,
    };
    progress.heartbeatEmitted(now);
    this.stamp.stamp(now);
    this.events.publish('heartbeat', { loop_id: this.config.loopId, metrics });
    return true;
  }

  private count(event: TradingEvent): void {
    switch (event.type) {
      case 'signal_received':
        this.counters.signals++;
        break;
      case 'trade_executed':
        this.counters.trades++;
        break;
      case 'positions_closed':
        this.counters.trades += event.payload.closed;
        break;
      case 'trade_failed':
        this.counters.errors++;
        break;
      default:
        break;
    }
  }
}
