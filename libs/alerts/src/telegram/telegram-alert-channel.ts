import { Logger } from '@nestjs/common';
import { BoundedQueue, withDeadline, type Clock, type Scheduler } from '@app/core';
import type { Alert, AlertChannel } from '../alert';
import type { AlertDrops } from '../alert-drops';
import { AlertCoalescer } from './alert-coalescer';
import { retryDecision, type RetryPolicy } from './send-failure';
import type { TelegramMessageSender } from './telegram-message-sender';

export interface TelegramChannelOptions {
  chatId: string;
  /** Alerts waiting beyond this are dropped (oldest first), counted and logged. */
  queueCapacity: number;
  /** An identical alert within this window is sent once. */
  coalesceWindowMs: number;
  /** Budget of one Bot API call. */
  requestTimeoutMs: number;
  retry: RetryPolicy;
}

export const DEFAULT_TELEGRAM_CHANNEL_OPTIONS: Omit<TelegramChannelOptions, 'chatId'> = {
  queueCapacity: 200,
  coalesceWindowMs: 10_000,
  requestTimeoutMs: 10_000,
  retry: { baseDelayMs: 500, maxDelayMs: 30_000 },
};

/**
 * Alerts to a Telegram chat. `deliver` only enqueues, so trading never waits for Telegram; one
 * sender drains the queue in order, retrying 429 (after `retry_after`), 5xx and network errors
 * until they succeed. An alert is lost only when the queue overflows, Telegram refuses it for
 * good (a 4xx other than 429), or the process stops first; each of those is counted and logged.
 */
export class TelegramAlertChannel implements AlertChannel {
  readonly name = 'telegram';
  private readonly logger = new Logger(TelegramAlertChannel.name);
  private readonly queue: BoundedQueue<Alert>;
  private readonly coalescer: AlertCoalescer;
  private readonly lifetime = new AbortController();
  /** The sender loop; `running` flips back in the same turn the queue is found empty, so no alert is stranded. */
  private sending: Promise<void> = Promise.resolve();
  private running = false;

  constructor(
    private readonly options: TelegramChannelOptions,
    private readonly sender: TelegramMessageSender,
    private readonly clock: Clock,
    private readonly drops: AlertDrops,
    private readonly scheduler: Scheduler,
  ) {
    this.queue = new BoundedQueue(options.queueCapacity);
    this.coalescer = new AlertCoalescer(options.coalesceWindowMs);
  }

  async deliver(alert: Alert): Promise<void> {
    if (this.lifetime.signal.aborted) {
      this.drops.record({ channel: this.name, reason: 'shutdown', alert });
      return;
    }
    const key = `${alert.kind}\n${alert.text}\n${JSON.stringify(alert.buttons ?? [])}`;
    if (!this.coalescer.admit(key, this.clock.now())) {
      this.logger.debug(
        { alert_kind: alert.kind },
        'identical alert within the coalescing window; sent once',
      );
      return;
    }
    const evicted = this.queue.push(alert);
    if (evicted !== null)
      this.drops.record({ channel: this.name, reason: 'queue_overflow', alert: evicted.dropped });
    if (!this.running) {
      this.running = true;
      this.sending = this.run();
    }
  }

  /** Resolves when everything queued has been sent (or given up), or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    await withDeadline(this.scheduler, this.sending, timeoutMs);
  }

  /** Stop for good: abort the call in flight, and count what is still queued as dropped. */
  close(): void {
    if (this.lifetime.signal.aborted) return;
    this.lifetime.abort();
  }

  private async run(): Promise<void> {
    try {
      for (let alert = this.queue.shift(); alert !== undefined; alert = this.queue.shift()) {
        if (this.lifetime.signal.aborted) {
          this.drops.record({ channel: this.name, reason: 'shutdown', alert });
          continue;
        }
        await this.deliverWithRetries(alert);
      }
    } catch (error) {
      // deliverWithRetries returns failures as values; this is a bug, and must not stop alerts for good.
      this.logger.error({ err: error }, 'telegram alert sender failed');
    } finally {
      this.running = false;
    }
  }

  private async deliverWithRetries(alert: Alert): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const signal = AbortSignal.any([
        this.lifetime.signal,
        AbortSignal.timeout(this.options.requestTimeoutMs),
      ]);
      const failure = await this.sender.send(
        {
          chatId: this.options.chatId,
          text: alert.text,
          ...(alert.buttons === undefined ? {} : { buttons: alert.buttons }),
        },
        signal,
      );
      if (failure === undefined) {
        if (attempt > 1)
          this.logger.log({ alert_kind: alert.kind, attempts: attempt }, 'telegram alert sent after retries');
        return;
      }
      if (this.lifetime.signal.aborted) {
        this.drops.record({ channel: this.name, reason: 'shutdown', alert });
        return;
      }
      const decision = retryDecision(failure, attempt, this.options.retry);
      if (!decision.retry) {
        this.logger.error({ failure, alert_kind: alert.kind }, decision.reason);
        this.drops.record({ channel: this.name, reason: 'refused', alert });
        return;
      }
      this.logger.warn(
        { failure, attempt, retry_in_ms: decision.delayMs, alert_kind: alert.kind, queued: this.queue.size },
        'telegram alert not sent yet; retrying',
      );
      await this.sleep(decision.delayMs);
    }
  }

  /** A backoff wait that `close()` cuts short. */
  private sleep(ms: number): Promise<void> {
    return this.scheduler.sleep(ms, this.lifetime.signal);
  }
}
