import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isCapTrigger, type TradingEvent } from '@app/core';
import { AlertDrops } from '@app/alerts';
import { EventBus } from '@app/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { DrawdownGuard } from '@app/core';
import { PlatformSignalSource } from '@app/signals';

/** Buckets for ms-scale latencies, in seconds: 0.5 ms to 30 s. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The Prometheus view of the service (docs/service.md, Health and metrics). Counters and histograms
 * follow events; gauges of the account are read from the guard at scrape time, so they are never
 * stale by more than one equity check. One registry per app instance (tests start several).
 */
@Injectable()
export class TradingMetrics implements OnApplicationBootstrap, OnModuleDestroy {
  readonly registry = new Registry();
  private unsubscribe: (() => void) | undefined;

  private readonly heartbeatTimestamp = new Gauge({
    name: 'trading_heartbeat_timestamp_seconds',
    help: 'Unix time of the last heartbeat',
    registers: [this.registry],
  });
  private readonly signals = new Counter({
    name: 'trading_signals_total',
    help: 'Signals by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly signalsAccepted: Counter.Internal;
  private readonly signalsRejected: Counter.Internal;
  private readonly signalsExecuted: Counter.Internal;
  private readonly signalsFailed: Counter.Internal;
  private readonly trades = new Counter({
    name: 'trading_trades_total',
    help: 'Orders filled and positions closed on signals',
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'trading_errors_total',
    help: 'Signals that failed to execute',
    registers: [this.registry],
  });
  private readonly signalLatency = new Histogram({
    name: 'trading_signal_latency_seconds',
    help: 'Signal creation to fill',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly orderExecution = new Histogram({
    name: 'trading_order_execution_seconds',
    help: 'Order sent to fill',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly capTriggers = new Counter({
    name: 'trading_drawdown_cap_triggers_total',
    help: 'Drawdown cap triggers',
    registers: [this.registry],
  });
  private readonly alertsDropped = new Counter({
    name: 'trading_alerts_dropped_total',
    help: 'Alerts a channel gave up on (queue_overflow, refused, shutdown)',
    labelNames: ['channel', 'reason'],
    registers: [this.registry],
  });
  private unsubscribeAlertDrops: (() => void) | undefined;
  private readonly listenerFailures = new Gauge({
    name: 'trading_event_listener_failures',
    help: 'Event listeners that threw',
    registers: [this.registry],
  });

  constructor(
    private readonly events: EventBus,
    private readonly guard: DrawdownGuard,
    private readonly alertDrops: AlertDrops,
    private readonly platform: PlatformSignalSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // LOOP_ID names the loop in metrics as in logs and alerts: every series carries it.
    this.registry.setDefaultLabels({ loop_id: config.loopId });
    collectDefaultMetrics({ register: this.registry });
    const guardGauge = (name: string, help: string, read: () => number | null) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const value = read();
          if (value === null) this.reset();
          else this.set(value);
        },
      });
    guardGauge('trading_equity', 'Account equity at the last check', () => this.guard.snapshot().equity);
    guardGauge(
      'trading_drawdown_percent',
      'Drawdown from the baseline, percent',
      () => this.guard.snapshot().drawdownPercent,
    );
    guardGauge(
      'trading_drawdown_cap_percent',
      'The configured drawdown cap, percent',
      () => this.guard.snapshot().capPercent,
    );
    guardGauge('trading_halted', '1 while trading is halted', () => (this.guard.snapshot().halted ? 1 : 0));
    guardGauge(
      'trading_open_positions',
      'Open positions at the last check',
      () => this.guard.snapshot().openPositions,
    );
    // The platform source counts its own polls; mirror the totals at scrape time.
    const platformStats = () => this.platform.stats;
    let reportedPolls = 0;
    let reportedFailures = 0;
    new Counter({
      name: 'trading_platform_polls_total',
      help: 'Polls of the approvals platform (SIGNAL_SOURCES=platform)',
      registers: [this.registry],
      collect() {
        const { polls } = platformStats();
        this.inc(Math.max(0, polls - reportedPolls));
        reportedPolls = Math.max(reportedPolls, polls);
      },
    });
    new Counter({
      name: 'trading_platform_poll_failures_total',
      help: 'Failed polls of the approvals platform',
      registers: [this.registry],
      collect() {
        const { pollFailures } = platformStats();
        this.inc(Math.max(0, pollFailures - reportedFailures));
        reportedFailures = Math.max(reportedFailures, pollFailures);
      },
    });
    for (const outcome of ['accepted', 'rejected', 'executed', 'failed']) this.signals.labels(outcome).inc(0);
    // Label children resolved once: labels() hashes its arguments on every call, on the hot path.
    this.signalsAccepted = this.signals.labels('accepted');
    this.signalsRejected = this.signals.labels('rejected');
    this.signalsExecuted = this.signals.labels('executed');
    this.signalsFailed = this.signals.labels('failed');
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.events.subscribe((event) => this.observe(event));
    this.unsubscribeAlertDrops = this.alertDrops.subscribe((drop) =>
      this.alertsDropped.labels(drop.channel, drop.reason).inc(),
    );
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.unsubscribeAlertDrops?.();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    this.listenerFailures.set(this.events.listenerFailures);
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private observe(event: TradingEvent): void {
    switch (event.type) {
      case 'heartbeat':
        this.heartbeatTimestamp.set(event.at / 1000);
        break;
      case 'signal_received':
        this.signalsAccepted.inc();
        break;
      case 'signal_rejected':
        this.signalsRejected.inc();
        break;
      case 'trade_executed':
        this.signalsExecuted.inc();
        this.trades.inc();
        this.signalLatency.observe(event.payload.latency_ms / 1000);
        this.orderExecution.observe(event.payload.execution_time_ms / 1000);
        break;
      case 'positions_closed':
        if (event.payload.failed === 0) this.signalsExecuted.inc();
        this.trades.inc(event.payload.closed);
        break;
      case 'trade_failed':
        this.signalsFailed.inc();
        this.errors.inc();
        break;
      case 'drawdown_cap_triggered':
        if (isCapTrigger(event.payload.cap)) this.capTriggers.inc();
        break;
      default:
        break;
    }
  }
}
