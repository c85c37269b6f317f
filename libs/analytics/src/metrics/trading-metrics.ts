import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  AccountRegistry,
  SCALE_OUT,
  isCapTrigger,
  type GuardSnapshot,
  type ScaleOut,
  type TradingEvent,
} from '@app/core';
import { AlertDrops } from '@app/alerts';
import { EventBus } from '@app/common';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import type { Clock } from '@app/core';
import { PlatformSignalSource } from '@app/signals';

/** Buckets for ms-scale latencies, in seconds: 0.5 ms to 30 s. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One account's label children, resolved once: `labels()` hashes its arguments on every call, on the hot path. */
interface AccountSeries {
  accepted: Counter.Internal;
  rejected: Counter.Internal;
  executed: Counter.Internal;
  failed: Counter.Internal;
  trades: Counter.Internal;
  errors: Counter.Internal;
  latency: Histogram.Internal<'account'>;
  execution: Histogram.Internal<'account'>;
  capTriggers: Counter.Internal;
  heartbeat: Gauge.Internal<'account'>;
}

/**
 * The Prometheus view of the service (docs/service.md, Health and metrics; docs/accounts.md):
 * every `trading_*` series of an account carries the label `account`. Counters and histograms
 * follow events; gauges of the accounts are read from their guards at scrape time, so they are
 * never stale by more than one equity check. One registry per app instance (tests start several).
 */
@Injectable()
export class TradingMetrics implements OnApplicationBootstrap, OnModuleDestroy {
  readonly registry = new Registry();
  private unsubscribe: (() => void) | undefined;

  private readonly heartbeatTimestamp = new Gauge({
    name: 'trading_heartbeat_timestamp_seconds',
    help: "Unix time of the last heartbeat (one account), or of the account's last completed pass (several accounts)",
    labelNames: ['account'],
    registers: [this.registry],
  });
  private readonly signals = new Counter({
    name: 'trading_signals_total',
    help: 'Signals by outcome',
    labelNames: ['account', 'outcome'],
    registers: [this.registry],
  });
  private readonly trades = new Counter({
    name: 'trading_trades_total',
    help: 'Orders filled and positions closed on signals',
    labelNames: ['account'],
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'trading_errors_total',
    help: 'Signals that failed to execute',
    labelNames: ['account'],
    registers: [this.registry],
  });
  private readonly signalLatency = new Histogram({
    name: 'trading_signal_latency_seconds',
    help: 'Signal creation to fill',
    buckets: LATENCY_BUCKETS,
    labelNames: ['account'],
    registers: [this.registry],
  });
  private readonly orderExecution = new Histogram({
    name: 'trading_order_execution_seconds',
    help: 'Order sent to fill',
    buckets: LATENCY_BUCKETS,
    labelNames: ['account'],
    registers: [this.registry],
  });
  private readonly capTriggers = new Counter({
    name: 'trading_drawdown_cap_triggers_total',
    help: 'Drawdown cap triggers',
    labelNames: ['account'],
    registers: [this.registry],
  });
  private readonly series = new Map<string, AccountSeries>();
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
    private readonly accounts: AccountRegistry,
    private readonly alertDrops: AlertDrops,
    private readonly platform: PlatformSignalSource,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) clock: Clock,
    @Inject(SCALE_OUT) scaleOut: ScaleOut | null,
  ) {
    // LOOP_ID names the loop in metrics as in logs and alerts: every series carries it.
    this.registry.setDefaultLabels({ loop_id: config.loopId });
    collectDefaultMetrics({ register: this.registry });
    const registry = accounts;
    const guardGauge = (name: string, help: string, read: (snapshot: GuardSnapshot) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['account'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const runtime of registry.all()) {
            const value = read(runtime.guard.snapshot());
            if (value !== null) this.labels(runtime.id).set(value);
          }
        },
      });
    guardGauge('trading_equity', 'Account equity at the last check', (s) => s.equity);
    guardGauge('trading_drawdown_percent', 'Drawdown from the baseline, percent', (s) => s.drawdownPercent);
    guardGauge('trading_drawdown_cap_percent', 'The configured drawdown cap, percent', (s) => s.capPercent);
    guardGauge('trading_halted', '1 while trading is halted', (s) => (s.halted ? 1 : 0));
    guardGauge('trading_open_positions', 'Open positions at the last check', (s) => s.openPositions);
    if (scaleOut !== null) this.registerScaleOut(scaleOut);
    new Gauge({
      name: 'trading_accounts',
      help: 'Accounts by state: running, halted, stale (docs/accounts.md)',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const counts = registry.counts(clock.now());
        for (const state of ['running', 'halted', 'stale'] as const) this.labels(state).set(counts[state]);
      },
    });
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
    // Every account's series exist from the start (at 0), so rates and absent() work at once.
    for (const account of config.accounts) this.seriesOf(account.id);
  }

  private seriesOf(account: string): AccountSeries {
    let series = this.series.get(account);
    if (series === undefined) {
      series = {
        accepted: this.signals.labels(account, 'accepted'),
        rejected: this.signals.labels(account, 'rejected'),
        executed: this.signals.labels(account, 'executed'),
        failed: this.signals.labels(account, 'failed'),
        trades: this.trades.labels(account),
        errors: this.errors.labels(account),
        latency: this.signalLatency.labels(account),
        execution: this.orderExecution.labels(account),
        capTriggers: this.capTriggers.labels(account),
        heartbeat: this.heartbeatTimestamp.labels(account),
      };
      for (const counter of [
        series.accepted,
        series.rejected,
        series.executed,
        series.failed,
        series.trades,
        series.errors,
        series.capTriggers,
      ])
        counter.inc(0);
      series.heartbeat.set(0); // 0 before the first heartbeat, as with one account before accounts existed
      this.series.set(account, series);
    }
    return series;
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
    if (event.type === 'heartbeat') {
      // One account: its heartbeat is the process's (docs/service.md). Several: each account's
      // own, its last completed pass (docs/accounts.md), so a stale account shows by name.
      const single = this.accounts.single();
      if (single !== undefined) this.seriesOf(single.id).heartbeat.set(event.at / 1000);
      else
        for (const runtime of this.accounts.all()) {
          const at = runtime.progress.lastPassAt;
          if (at !== null) this.seriesOf(runtime.id).heartbeat.set(at / 1000);
        }
      return;
    }
    if (event.account_id === undefined) return;
    const series = this.seriesOf(event.account_id);
    switch (event.type) {
      case 'signal_received':
        series.accepted.inc();
        break;
      case 'signal_rejected':
        series.rejected.inc();
        break;
      case 'trade_executed':
        series.executed.inc();
        series.trades.inc();
        series.latency.observe(event.payload.latency_ms / 1000);
        series.execution.observe(event.payload.execution_time_ms / 1000);
        break;
      case 'positions_closed':
        if (event.payload.failed === 0) series.executed.inc();
        series.trades.inc(event.payload.closed);
        break;
      case 'trade_failed':
        series.failed.inc();
        series.errors.inc();
        break;
      case 'drawdown_cap_triggered':
        if (isCapTrigger(event.payload.cap)) series.capTriggers.inc();
        break;
      default:
        break;
    }
  }

  /** STATE_BACKEND=postgres (docs/scale-out.md, Health and metrics): ownership, read at scrape time. */
  private registerScaleOut(scaleOut: ScaleOut): void {
    const registers = [this.registry];
    new Gauge({
      name: 'trading_accounts_owned',
      help: 'Accounts this process owns (holds the lease of) now',
      registers,
      collect() {
        this.set(scaleOut.counts().owned);
      },
    });
    new Counter({
      name: 'trading_lease_takeovers_total',
      help: 'Accounts this process took on that had an owner before (epoch above 1)',
      registers,
      collect() {
        this.reset();
        this.inc(scaleOut.counts().takeovers);
      },
    });
    new Counter({
      name: 'trading_ownership_lost_total',
      help: 'Accounts this process stopped owning other than by giving them up (taken over, expired, database unreachable)',
      registers,
      collect() {
        const { lost } = scaleOut.counts();
        this.reset();
        this.inc(lost.taken_over + lost.expired + lost.database_unreachable);
      },
    });
    new Counter({
      name: 'trading_fenced_writes_total',
      help: 'Writes refused for a stale epoch: by the database, or by a bridge (stale_fencing_token)',
      labelNames: ['where'],
      registers,
      collect() {
        const { fencedWrites } = scaleOut.counts();
        this.reset();
        this.labels('database').inc(fencedWrites.database);
        this.labels('bridge').inc(fencedWrites.bridge);
      },
    });
  }
}
