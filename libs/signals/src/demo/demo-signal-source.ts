import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  AccountRegistry,
  SCHEDULER,
  SignalFanOut,
  type Cancel,
  type Clock,
  type Scheduler,
  type SignalSide,
  type TradeSignal,
} from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';

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
    private readonly accounts: AccountRegistry,
    private readonly fanOut: SignalFanOut,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
  ) {}
  private cancel: Cancel | undefined;

  onApplicationBootstrap(): void {
    if (!this.config.signals.sources.includes('demo')) return;
    const periodMs = Math.max(10, Math.round(60_000 / this.config.signals.demoSignalsPerMinute));
    this.cancel = this.scheduler.every(periodMs, () => void this.emitOne());
  }

  onModuleDestroy(): void {
    this.cancel?.();
  }

  /**
   * One demo signal on the default channel; skipped while every account on it is halted (nothing
   * would trade, and the ledger would fill with refusals).
   */
  async emitOne(): Promise<void> {
    if (this.accounts.subscribers().every((account) => account.isHalted())) return;
    const signal = this.next(this.clock.now());
    try {
      await this.fanOut.submit(signal);
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
