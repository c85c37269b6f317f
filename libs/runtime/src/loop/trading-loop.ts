import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { executionSteps, LoopProgress, mapWithConcurrency, type Clock, type TradeSignal } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { Lifecycle } from '@app/common';
import { DrawdownGuard } from '@app/drawdown';
import { SignalPipeline } from '@app/signals';
import { SignalExecutor } from './signal-executor';

const TICK_INTERVAL = 'trading-loop-tick';
/** Signals taken per tick; the rest wait for the next tick (which follows at once). */
const MAX_SIGNALS_PER_TICK = 512;
/** Instruments worked on at once. */
const MAX_PARALLEL_INSTRUMENTS = 16;
/** Opens in flight at once on one instrument (a close always runs alone, see executionSteps). */
const MAX_ORDERS_IN_FLIGHT_PER_INSTRUMENT = 16;

/**
 * The trading loop. Each tick takes the approved signals and executes them: instruments in
 * parallel; on one instrument, opens together and each `close` alone, in arrival order
 * (a `close` after a `buy` must see the buy).
 * A tick runs every LOOP_TICK_MS, and at once when a signal arrives; ticks never overlap.
 * Completed ticks are what the heartbeat proves.
 */
@Injectable()
export class TradingLoop implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TradingLoop.name);
  readonly progress: LoopProgress;
  private inFlight: Promise<void> | undefined;
  private rerunRequested = false;
  private stopping = false;
  private stallNextTickMs = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly pipeline: SignalPipeline,
    private readonly executor: SignalExecutor,
    private readonly guard: DrawdownGuard,
    private readonly scheduler: SchedulerRegistry,
    private readonly lifecycle: Lifecycle,
  ) {
    this.progress = new LoopProgress(clock.now());
  }

  async onApplicationBootstrap(): Promise<void> {
    this.pipeline.onWork(() => this.wake());
    await this.pipeline.restoreUnfinished();
    // The period comes from config, so it cannot sit in an @Interval decorator.
    this.scheduler.addInterval(
      TICK_INTERVAL,
      setInterval(() => this.wake(), this.config.loopTickMs),
    );
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', TICK_INTERVAL)) this.scheduler.deleteInterval(TICK_INTERVAL);
  }

  /** Run a tick now, or right after the one in flight. */
  wake(): void {
    if (this.stopping) return;
    if (this.inFlight !== undefined) {
      this.rerunRequested = true;
      return;
    }
    this.inFlight = this.tick().finally(() => {
      this.inFlight = undefined;
      if (this.rerunRequested && !this.stopping) {
        this.rerunRequested = false;
        setImmediate(() => this.wake());
      }
    });
  }

  /** One pass; exposed for tests. Never rejects: one failing signal never stops the loop. */
  async tick(): Promise<void> {
    this.progress.tickStarted(this.clock.now());
    try {
      if (this.stallNextTickMs > 0) {
        const ms = this.stallNextTickMs;
        this.stallNextTickMs = 0;
        this.logger.warn(`debug fault: this tick stalls for ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, ms));
      }
      const batch = this.pipeline.takeApproved(MAX_SIGNALS_PER_TICK);
      if (batch.length > 0) await this.executeBatch(batch);
      if (this.pipeline.approvedBacklog > 0) this.rerunRequested = true;
    } catch (error) {
      this.logger.error({ err: error }, 'trading loop tick failed');
    } finally {
      this.progress.tickCompleted(this.clock.now());
    }
  }

  private async executeBatch(batch: TradeSignal[]): Promise<void> {
    // One pre-trade read of equity for the batch: orders placed in this tick all pass the same check.
    const gate = await this.guard.preTradeCheck();
    const lanes = executionSteps(batch);
    await mapWithConcurrency(lanes, MAX_PARALLEL_INSTRUMENTS, async (steps) => {
      for (const step of steps)
        await mapWithConcurrency(step, MAX_ORDERS_IN_FLIGHT_PER_INSTRUMENT, (signal) =>
          this.executor.execute(signal, gate),
        );
    });
    // Outcomes go to disk behind us (SignalExecutor.recordOutcome): the next tick need not wait for
    // those syncs, and a crash before them only means the broker is asked again under the same id.
  }

  /** Graceful stop: take no more ticks and wait for the one in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.lifecycle.beginStopping(this.clock.now());
    this.onModuleDestroy();
    await this.inFlight;
    await this.executor.flushOutcomes();
  }

  get isStopping(): boolean {
    return this.stopping || this.lifecycle.stopping;
  }

  /** DEBUG_FAULTS: the next tick hangs for `ms` (a stalled broker call, as the watchdog must see it). */
  stallNextTick(ms: number): void {
    this.stallNextTickMs = ms;
  }
}
