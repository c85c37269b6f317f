import { Inject, Injectable, type INestApplication } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { SCHEDULER, withDeadline, type Clock, type Scheduler } from '@app/core';
import { AlertDispatcher } from '@app/alerts';
import { EventBus, Lifecycle } from '@app/common';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { TradingAccounts } from '@app/runtime';

/** The whole stop must finish inside this, below Kubernetes' grace period and the spec's 10 s. */
export const SHUTDOWN_BUDGET_MS = 9000;

/**
 * SIGTERM/SIGINT (docs/service.md, Graceful stop): readiness fails and intake refuses, the tick in
 * flight finishes, positions are closed when CLOSE_ON_SHUTDOWN=true, and the `shutdown` line is
 * the last one logged, flushed before exit 0.
 */
@Injectable()
export class GracefulShutdown {
  private stopping: Promise<number> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    private readonly lifecycle: Lifecycle,
    private readonly accounts: TradingAccounts,
    private readonly alerts: AlertDispatcher,
    private readonly events: EventBus,
    private readonly logger: PinoLogger,
  ) {}

  /** Resolves with the exit code. A second signal while stopping waits for the first stop. */
  stop(app: INestApplication, signal: string): Promise<number> {
    this.stopping ??= this.run(app, signal);
    return this.stopping;
  }

  private async run(app: INestApplication, signal: string): Promise<number> {
    const started = this.clock.now();
    const remaining = () => SHUTDOWN_BUDGET_MS - (this.clock.now() - started);
    this.lifecycle.beginStopping(started);
    this.logger.info({ signal }, 'stopping: intake closed, finishing the tick in flight');
    await this.withDeadline(
      'finish the ticks in flight',
      this.accounts.stopTrading(),
      Math.max(0, remaining() - 5000),
    );
    let closed = 0;
    let failed = 0;
    if (this.config.closeOnShutdown) {
      try {
        // Every account at once, each within the same budget.
        const report = await this.accounts.closeAllForShutdown(Math.max(500, remaining() - 2500));
        closed = report.closed;
        failed = report.failed;
      } catch (error) {
        this.logger.error({ err: error }, 'closing positions on shutdown failed');
        failed = -1;
      }
    }
    this.alerts.send({
      kind: 'shutdown',
      text: `Shutdown (${signal}) of loop ${this.config.loopId}: ${this.config.closeOnShutdown ? `closed ${closed} positions${failed < 0 ? ', closing failed (see the log)' : failed > 0 ? `, ${failed} could not be closed` : ''}` : 'positions left open (CLOSE_ON_SHUTDOWN=false)'}`,
    });
    await this.alerts.drain(Math.max(0, Math.min(1500, remaining() - 1000)));
    await this.withDeadline('close the application', app.close(), Math.max(0, remaining() - 300));
    this.events.publish('shutdown', {
      loop_id: this.config.loopId,
      signal,
      positions_closed: closed,
      positions_failed: failed,
    });
    return 0;
  }

  /** Wait for a step of the stop, but never past its share of the budget; a failure is logged, not fatal. */
  private async withDeadline(step: string, work: Promise<unknown>, ms: number): Promise<void> {
    const logged = work.catch((error: unknown) =>
      this.logger.error({ err: error, step }, 'shutdown step failed'),
    );
    if ((await withDeadline(this.scheduler, logged, ms)) === 'timed_out')
      this.logger.warn({ step, ms }, 'shutdown step ran out of time; going on');
  }
}
