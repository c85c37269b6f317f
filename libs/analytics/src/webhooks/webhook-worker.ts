import { BoundedQueue } from '@app/core';
import { backoffDelayMs, classifyDelivery, type BackoffPolicy, type DeliveryResult } from './backoff';

/** One event to deliver: its id (X-Event-Id), type and JSON body, serialised once. */
export interface WebhookItem {
  id: string;
  type: string;
  body: string;
}

/** What a worker reports, for metrics and logs. Called synchronously; must not throw. */
export interface WebhookObserver {
  delivered(item: WebhookItem, attempts: number): void;
  attemptFailed(item: WebhookItem, attempt: number, why: string): void;
  gaveUp(item: WebhookItem, attempts: number, why: string): void;
  dropped(item: WebhookItem, why: 'queue_full' | 'stopped'): void;
}

export interface WebhookWorkerDeps {
  /** One HTTP attempt; resolves with the result, never rejects (a worker bug otherwise). */
  post(item: WebhookItem, signal: AbortSignal): Promise<DeliveryResult>;
  /** Resolves after ms, or early when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  random(): number;
  observer: WebhookObserver;
}

/**
 * Delivers events to ONE webhook URL, in order, one request at a time, with retries and
 * backoff, from a bounded queue. `enqueue` never waits and never throws: publishing an event
 * costs the trading loop a queue push whatever the receiver does. A receiver that is down
 * only delays its own queue, which drops its oldest events when full (counted).
 *
 * No I/O here: the HTTP call and the timers are injected, so the policy is unit-tested with fakes.
 */
export class WebhookWorker {
  private readonly queue: BoundedQueue<WebhookItem>;
  private readonly abort = new AbortController();
  private running = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    capacity: number,
    private readonly policy: BackoffPolicy,
    private readonly deps: WebhookWorkerDeps,
  ) {
    this.queue = new BoundedQueue(capacity);
  }

  enqueue(item: WebhookItem): void {
    if (this.abort.signal.aborted) {
      this.deps.observer.dropped(item, 'stopped');
      return;
    }
    const overflow = this.queue.push(item);
    if (overflow !== null) this.deps.observer.dropped(overflow.dropped, 'queue_full');
    if (!this.running) void this.run();
  }

  /** Queued, not counting the one in flight. */
  get depth(): number {
    return this.queue.size;
  }

  /** Resolves when the queue is empty and nothing is in flight. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Aborts the request in flight and any backoff; what is still queued is dropped (counted). */
  stop(): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift())
      this.deps.observer.dropped(item, 'stopped');
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (
        let item = this.queue.shift();
        item !== undefined && !this.abort.signal.aborted;
        item = this.queue.shift()
      ) {
        await this.deliver(item);
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async deliver(item: WebhookItem): Promise<void> {
    const { observer } = this.deps;
    for (let attempt = 1; ; attempt += 1) {
      let result: DeliveryResult;
      try {
        result = await this.deps.post(item, this.abort.signal);
      } catch (error) {
        result = { kind: 'network_error', error: error instanceof Error ? error.message : String(error) };
      }
      if (this.abort.signal.aborted) {
        observer.dropped(item, 'stopped');
        return;
      }
      const verdict = classifyDelivery(result);
      if (verdict === 'delivered') {
        observer.delivered(item, attempt);
        return;
      }
      const why = result.kind === 'status' ? `HTTP ${result.status}` : result.error;
      if (verdict === 'permanent' || attempt >= this.policy.maxAttempts) {
        observer.gaveUp(item, attempt, why);
        return;
      }
      observer.attemptFailed(item, attempt, why);
      await this.deps.sleep(backoffDelayMs(attempt, this.policy, this.deps.random), this.abort.signal);
      if (this.abort.signal.aborted) {
        observer.dropped(item, 'stopped');
        return;
      }
    }
  }
}
