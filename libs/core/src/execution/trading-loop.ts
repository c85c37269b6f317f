import { LoopProgress } from '../heartbeat/loop-progress';
import type { CoreLogger } from '../logging/core-logger.port';
import type { TradeSignal } from '../signals/trade-signal';
import type { Clock } from '../time/clock';
import type { Cancel, Scheduler } from '../time/scheduler';
import { executionSteps } from './execution-steps';
import { mapWithConcurrency } from './map-with-concurrency';
import type { BatchGate } from './signal-executor';

/** Signals taken per tick; the rest wait for the next tick (which follows at once). */
const MAX_SIGNALS_PER_TICK = 512;
/** Instruments worked on at once. */
const MAX_PARALLEL_INSTRUMENTS = 16;
/** Opens in flight at once on one instrument (a close always runs alone, see executionSteps). */
const MAX_ORDERS_IN_FLIGHT_PER_INSTRUMENT = 16;

export interface TradingLoopPorts {
  /** Approved signals, oldest first. */
  queue: { takeApproved(max: number): TradeSignal[]; readonly approvedBacklog: number };
  executor: { execute(signal: TradeSignal, gate: BatchGate): Promise<void>; flushOutcomes(): Promise<void> };
  /** One pre-trade equity read for a batch. */
  preTradeCheck(): Promise<BatchGate>;
  scheduler: Scheduler;
  clock: Clock;
  logger: CoreLogger;
}

/**
 * The trading loop of one account. Each tick takes the approved signals and executes them:
 * instruments in parallel; on one instrument, opens together and each `close` alone, in arrival
 * order (a `close` after a `buy` must see the buy). A tick runs every LOOP_TICK_MS, and at once
 * when a signal arrives; ticks never overlap. Completed ticks are what the heartbeat proves.
 */
export class TradingLoop {
  readonly progress: LoopProgress;
  private inFlight: Promise<void> | undefined;
  private rerunRequested = false;
  private stopping = false;
  private started = false;
  private stallNextTickMs = 0;
  private cancelTick: Cancel | undefined;

  constructor(
    private readonly tickMs: number,
    private readonly ports: TradingLoopPorts,
  ) {
    this.progress = new LoopProgress(ports.clock.now());
  }

  /** Ticks from now on, the first at once: signals queued before the start wait for it. */
  start(): void {
    if (this.stopping || this.started) return;
    this.started = true;
    this.cancelTick = this.ports.scheduler.every(this.tickMs, () => this.wake());
    this.wake();
  }

  /** Run a tick now, or right after the one in flight; nothing before `start`. */
  wake(): void {
    if (this.stopping || !this.started) return;
    if (this.inFlight !== undefined) {
      this.rerunRequested = true;
      return;
    }
    this.inFlight = this.tick().finally(() => {
      this.inFlight = undefined;
      if (this.rerunRequested && !this.stopping) {
        this.rerunRequested = false;
        this.ports.scheduler.after(0, () => this.wake());
      }
    });
  }

  /** One pass; exposed for tests. Never rejects: one failing signal never stops the loop. */
  async tick(): Promise<void> {
    this.progress.tickStarted(this.ports.clock.now());
    try {
      if (this.stallNextTickMs > 0) {
        const ms = this.stallNextTickMs;
        this.stallNextTickMs = 0;
        this.ports.logger.warn({ ms }, `debug fault: this tick stalls for ${ms} ms`);
        await this.ports.scheduler.sleep(ms);
      }
      const batch = this.ports.queue.takeApproved(MAX_SIGNALS_PER_TICK);
      if (batch.length > 0) await this.executeBatch(batch);
      if (this.ports.queue.approvedBacklog > 0) this.rerunRequested = true;
    } catch (error) {
      this.ports.logger.error({ err: error }, 'trading loop tick failed');
    } finally {
      this.progress.tickCompleted(this.ports.clock.now());
    }
  }

  /** Graceful stop: take no more ticks, wait for the one in flight and for the outcomes it wrote. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelTick?.();
    await this.inFlight;
    await this.ports.executor.flushOutcomes();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** DEBUG_FAULTS: the next tick hangs for `ms` (a stalled broker call, as the watchdog must see it). */
  stallNextTick(ms: number): void {
    this.stallNextTickMs = ms;
  }

  private async executeBatch(batch: TradeSignal[]): Promise<void> {
    // One pre-trade read of equity for the batch: orders placed in this tick all pass the same check.
    const gate = await this.ports.preTradeCheck();
    await mapWithConcurrency(executionSteps(batch), MAX_PARALLEL_INSTRUMENTS, async (steps) => {
      for (const step of steps)
        await mapWithConcurrency(step, MAX_ORDERS_IN_FLIGHT_PER_INSTRUMENT, (signal) =>
          this.ports.executor.execute(signal, gate),
        );
    });
    // Outcomes go to disk behind us (SignalExecutor.writeOutcome): the next tick need not wait for
    // those syncs, and a crash before them only means the broker is asked again under the same id.
  }
}
