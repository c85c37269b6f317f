import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Clock, SignalSide, TradeSignal } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { HALT_STATUS, type HaltStatus } from '@app/drawdown/halt-status.port';
import { SignalPipeline } from '../approval/signal-pipeline';

const INTERVAL_NAME = 'demo-signals';

/**
 * SIGNAL_SOURCES=demo: a generator that makes small random buy/sell/close signals at
 * DEMO_SIGNALS_PER_MINUTE, so a fresh `npm start` shows the loop trading. Paper mode only
 * (config refuses `demo` with the HTTP gateway).
 */
@Injectable()
export class DemoSignalSource implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DemoSignalSource.name);
  private sequence = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(HALT_STATUS) private readonly halt: HaltStatus,
    private readonly pipeline: SignalPipeline,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.signals.sources.includes('demo')) return;
    // The period comes from config, so it cannot sit in an @Interval decorator.
    const periodMs = Math.max(10, Math.round(60_000 / this.config.signals.demoSignalsPerMinute));
    this.scheduler.addInterval(
      INTERVAL_NAME,
      setInterval(() => void this.emitOne(), periodMs),
    );
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
  }

  /** One demo signal; skipped while halted (nothing would trade, and the ledger would fill with refusals). */
  async emitOne(): Promise<void> {
    if (this.halt.isHalted()) return;
    const signal = this.next(this.clock.now());
    try {
      await this.pipeline.submit(signal);
    } catch (error) {
      this.logger.error({ err: error, signal_id: signal.id }, 'demo signal could not be submitted');
    }
  }

  next(now: number): TradeSignal {
    const symbols = this.config.paper.symbols;
    const roll = Math.random();
    const side: SignalSide = roll < 0.15 ? 'close' : roll < 0.575 ? 'buy' : 'sell';
    this.sequence++;
    return {
      id: `demo-${this.config.loopId.slice(0, 8)}-${now.toString(36)}-${this.sequence}`,
      instrument: symbols[Math.floor(Math.random() * symbols.length)],
      side,
      volume: side === 'close' ? 0 : Math.round((0.01 + Math.random() * 0.09) * 100) / 100,
      createdAtMs: now,
      receivedAtMs: now,
      source: 'demo',
    };
  }
}
