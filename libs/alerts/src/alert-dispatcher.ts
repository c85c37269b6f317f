import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { SCHEDULER, withDeadline, type Scheduler } from '@app/core';
import { ALERT_CHANNELS, type Alert, type AlertChannel, type AlertSink } from './alert';

/**
 * Hands alerts to every channel without making the caller wait: trading never blocks on
 * Telegram. Each channel has its own bounded queue and retry policy inside its adapter; a
 * failure is logged here, never thrown to the caller.
 */
@Injectable()
export class AlertDispatcher implements AlertSink, OnApplicationShutdown {
  private readonly logger = new Logger(AlertDispatcher.name);
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(ALERT_CHANNELS) private readonly channels: AlertChannel[],
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
  ) {}

  send(alert: Alert): void {
    for (const channel of this.channels) {
      const delivery = channel
        .deliver(alert)
        .catch((error: unknown) =>
          this.logger.error(
            { err: error, channel: channel.name, alert_kind: alert.kind },
            'alert delivery failed',
          ),
        )
        .finally(() => this.inFlight.delete(delivery));
      this.inFlight.add(delivery);
    }
  }

  /** Wait (bounded) for alerts already handed over, e.g. the shutdown alert, including channel queues. */
  async drain(timeoutMs: number): Promise<void> {
    const queued = this.channels.map((channel) => channel.flush?.(timeoutMs) ?? Promise.resolve());
    await withDeadline(this.scheduler, Promise.allSettled([...this.inFlight, ...queued]), timeoutMs);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.drain(2000);
    for (const channel of this.channels) channel.close?.();
  }
}
