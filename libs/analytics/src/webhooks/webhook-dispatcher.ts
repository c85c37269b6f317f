import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { SCHEDULER, signInboxRequest, withDeadline, type Clock, type Scheduler } from '@app/core';
import { EventBus } from '@app/common';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { SIGNALS_HMAC_SECRET } from '@app/signals';
import { AnalyticsMetrics } from '../metrics/analytics-metrics';
import { isPublished, jsonOf } from '../events/event-view';
import { DEFAULT_WEBHOOK_BACKOFF, type DeliveryResult } from './backoff';
import { WebhookWorker, type WebhookItem, type WebhookObserver } from './webhook-worker';

/** Events waiting per URL; beyond it the oldest are dropped (counted). */
export const WEBHOOK_QUEUE_CAPACITY = 1000;
/** One budget per POST attempt: a receiver that never answers costs this, then a retry. */
export const WEBHOOK_TIMEOUT_MS = 5_000;
/** How long a stop waits for queued events to go out. */
const SHUTDOWN_DRAIN_MS = 1_000;

/**
 * Webhook hooks (docs/service.md, ANALYTICS_WEBHOOK_URLS): every published event (not equity samples,
 * see event-view.ts) is POSTed as JSON to each URL, from its own bounded queue with retries and
 * backoff (WebhookWorker), so a dead receiver never slows trading or another receiver.
 *
 * Signature: the spec defines no webhook secret, so the inbox secret SIGNALS_HMAC_SECRET signs
 * (the operator already shares it with whoever integrates with the service). Headers, like the
 * inbox: `X-Timestamp` (epoch ms, fresh on every attempt) and `X-Signature` = lowercase hex
 * HMAC-SHA256 of `<X-Timestamp>.<body>`; plus `X-Event-Type`, and `X-Event-Id` (`<loop id>:<n>`,
 * the same on every retry, so a receiver can drop a duplicate).
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly workers: WebhookWorker[];
  /** Per worker: set its queue-depth gauge (the label child is bound once, in createWorker). */
  private readonly reportDepths: (() => void)[];
  private readonly unsubscribe: () => void;
  private sequence = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(SIGNALS_HMAC_SECRET) private readonly secret: string,
    private readonly metrics: AnalyticsMetrics,
    events: EventBus,
  ) {
    const urls = config.analytics.webhookUrls;
    const created = urls.map((url, index) => this.createWorker(url, String(index)));
    this.workers = created.map((c) => c.worker);
    this.reportDepths = created.map((c) => c.reportDepth);
    if (urls.length > 0) {
      // The origin only: a path or query may carry a token.
      this.logger.log(
        { webhooks: urls.map((url, index) => ({ webhook: String(index), origin: new URL(url).origin })) },
        'analytics webhooks on',
      );
    }
    this.unsubscribe =
      this.workers.length === 0
        ? () => undefined
        : events.subscribe((event) => {
            if (!isPublished(event.type)) return;
            this.sequence += 1;
            const item: WebhookItem = {
              id: `${this.config.loopId}:${this.sequence}`,
              type: event.type,
              body: jsonOf(event),
            };
            for (const [index, worker] of this.workers.entries()) {
              worker.enqueue(item);
              this.reportDepths[index]();
            }
          });
  }

  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe();
    if (this.workers.length === 0) return;
    await withDeadline(this.scheduler, Promise.all(this.workers.map((w) => w.idle())), SHUTDOWN_DRAIN_MS);
    for (const worker of this.workers) worker.stop();
  }

  private createWorker(url: string, label: string): { worker: WebhookWorker; reportDepth: () => void } {
    const { webhookDeliveries, webhookAttemptFailures, webhookQueueDepth } = this.metrics;
    let healthy = true;
    // The observer needs the worker's depth and the worker needs the observer: a late-bound holder.
    const holder: { worker?: WebhookWorker } = {};
    // Label children bound once: a label lookup per event would cost more than the event.
    const queueDepth = webhookQueueDepth.labels(label);
    const delivered = webhookDeliveries.labels(label, 'delivered');
    const failed = webhookDeliveries.labels(label, 'failed');
    const dropped = webhookDeliveries.labels(label, 'dropped');
    const attemptFailures = webhookAttemptFailures.labels(label);
    const depth = () => queueDepth.set(holder.worker?.depth ?? 0);
    // Logged when health changes, not per attempt: a dead receiver must not flood the log.
    const failing = (why: string) => {
      if (!healthy) return;
      healthy = false;
      this.logger.warn(
        { webhook: label, why },
        'webhook failing; retrying with backoff, dropping the oldest events when its queue is full',
      );
    };
    const observer: WebhookObserver = {
      delivered: () => {
        delivered.inc();
        depth();
        if (!healthy) {
          healthy = true;
          this.logger.log({ webhook: label }, 'webhook delivering again');
        }
      },
      attemptFailed: (_item, _attempt, why) => {
        attemptFailures.inc();
        failing(why);
      },
      gaveUp: (item, attempts, why) => {
        failed.inc();
        depth();
        failing(why);
        this.logger.debug(
          { webhook: label, event_id: item.id, event_type: item.type, attempts, why },
          'webhook event given up',
        );
      },
      dropped: (_item, why) => {
        dropped.inc();
        depth();
        failing(why);
      },
    };
    for (const child of [delivered, failed, dropped, attemptFailures]) child.inc(0);
    holder.worker = new WebhookWorker(WEBHOOK_QUEUE_CAPACITY, DEFAULT_WEBHOOK_BACKOFF, {
      post: (item, signal) => this.post(url, item, signal),
      sleep: (ms, signal) => this.scheduler.sleep(ms, signal),
      random: Math.random,
      observer,
    });
    return { worker: holder.worker, reportDepth: depth };
  }

  private async post(url: string, item: WebhookItem, stop: AbortSignal): Promise<DeliveryResult> {
    const timestamp = String(this.clock.now());
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-timestamp': timestamp,
          'x-signature': signInboxRequest(this.secret, timestamp, item.body),
          'x-event-type': item.type,
          'x-event-id': item.id,
        },
        body: item.body,
        redirect: 'manual',
        signal: AbortSignal.any([stop, AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)]),
      });
      await response.body?.cancel(); // the answer's body is not read; free the connection
      return { kind: 'status', status: response.status };
    } catch (error) {
      return { kind: 'network_error', error: describeFetchError(error) };
    }
  }
}

/** fetch hides the reason (ECONNREFUSED, timeout) in `cause` or the error name. */
function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return `timeout after ${WEBHOOK_TIMEOUT_MS} ms`;
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error)
      return 'code' in cause && typeof cause.code === 'string' ? cause.code : cause.message;
    return error.message;
  }
  return String(error);
}
