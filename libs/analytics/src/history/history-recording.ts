import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Counter } from 'prom-client';
import {
  DEFAULT_HISTORY_RECORDER_OPTIONS,
  HISTORY_STORE,
  HistoryRecorder,
  SCHEDULER,
  type Clock,
  type HistoryStore,
  type Scheduler,
} from '@app/core';
import { coreLoggerFor, EventBus } from '@app/common';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { TradingMetrics } from '../metrics/trading-metrics';

const DAY_MS = 86_400_000;
/** How long the shutdown waits for the last events to be written. */
const STOP_BUDGET_MS = 5_000;

/**
 * Records every account's events into the history store of the opened state backend
 * (docs/history.md): subscribed to the event bus, whose publishers it never holds up, and stopped
 * after the runtime (which publishes its last events while stopping) and before the state closes.
 */
@Injectable()
export class HistoryRecording implements OnModuleInit, BeforeApplicationShutdown {
  readonly recorder: HistoryRecorder;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(HISTORY_STORE) store: HistoryStore,
    @Inject(SCHEDULER) scheduler: Scheduler,
    @Inject(CLOCK) clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly events: EventBus,
    metrics: TradingMetrics,
  ) {
    const registers = [metrics.registry];
    const writeFailures = new Counter({
      name: 'trading_history_write_failures_total',
      help: 'History writes that failed (retried with backoff; trading never waits for them)',
      registers,
    });
    const dropped = new Counter({
      name: 'trading_history_dropped_total',
      help: 'Events history never wrote: its buffer was full, or the shutdown budget ran out',
      registers,
    });
    this.recorder = new HistoryRecorder(
      {
        store,
        scheduler,
        clock,
        logger: coreLoggerFor(new Logger('history')),
        onWriteFailure: () => writeFailures.inc(),
        onDropped: (count) => dropped.inc(count),
      },
      {
        ...DEFAULT_HISTORY_RECORDER_OPTIONS,
        retention: { retainMs: config.analytics.historyRetentionDays * DAY_MS, denseEquityMs: DAY_MS },
      },
    );
  }

  onModuleInit(): void {
    this.unsubscribe = this.events.subscribe((event) => this.recorder.record(event));
    this.recorder.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.recorder.stop(STOP_BUDGET_MS);
  }
}
