import type { DeliveryResult } from './backoff';
import { WebhookWorker, type WebhookItem, type WebhookObserver } from './webhook-worker';

const item = (n: number): WebhookItem => ({ id: `loop:${n}`, type: 'trade_executed', body: `{"n":${n}}` });
const ok: DeliveryResult = { kind: 'status', status: 200 };

/** A worker whose HTTP calls answer from a script and whose sleeps resolve at once, recording the delays. */
function harness(
  answers: (n: number, attempt: number) => DeliveryResult | Promise<DeliveryResult>,
  capacity = 10,
) {
  const log: string[] = [];
  const delays: number[] = [];
  const attempts = new Map<string, number>();
  const observer: WebhookObserver = {
    delivered: (i, a) => log.push(`delivered ${i.id} after ${a}`),
    attemptFailed: (i, a, why) => log.push(`attempt ${a} of ${i.id} failed: ${why}`),
    gaveUp: (i, a, why) => log.push(`gave up ${i.id} after ${a}: ${why}`),
    dropped: (i, why) => log.push(`dropped ${i.id}: ${why}`),
  };
  const worker = new WebhookWorker(
    capacity,
    { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 },
    {
      post: async (i) => {
        const attempt = (attempts.get(i.id) ?? 0) + 1;
        attempts.set(i.id, attempt);
        return answers(Number(i.id.split(':')[1]), attempt);
      },
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.999,
      observer,
    },
  );
  return { worker, log, delays };
}

describe('WebhookWorker', () => {
  it('delivers in order, one at a time', async () => {
    const { worker, log } = harness(() => ok);
    [1, 2, 3].forEach((n) => worker.enqueue(item(n)));
    await worker.idle();
    expect(log).toEqual(['delivered loop:1 after 1', 'delivered loop:2 after 1', 'delivered loop:3 after 1']);
  });

  it('retries a 503 and a network error with growing backoff, then delivers', async () => {
    const { worker, log, delays } = harness((_n, attempt) =>
      attempt === 1
        ? { kind: 'status', status: 503 }
        : attempt === 2
          ? { kind: 'network_error', error: 'ECONNREFUSED' }
          : ok,
    );
    worker.enqueue(item(1));
    await worker.idle();
    expect(log).toEqual([
      'attempt 1 of loop:1 failed: HTTP 503',
      'attempt 2 of loop:1 failed: ECONNREFUSED',
      'delivered loop:1 after 3',
    ]);
    expect(delays).toEqual([99, 199]);
  });

  it('gives up after maxAttempts and goes on with the next event', async () => {
    const { worker, log } = harness((n) => (n === 1 ? { kind: 'network_error', error: 'timeout' } : ok));
    worker.enqueue(item(1));
    worker.enqueue(item(2));
    await worker.idle();
    expect(log.filter((l) => !l.startsWith('attempt'))).toEqual([
      'gave up loop:1 after 3: timeout',
      'delivered loop:2 after 1',
    ]);
  });

  it('does not retry a 4xx refusal', async () => {
    const { worker, log } = harness(() => ({ kind: 'status', status: 401 }));
    worker.enqueue(item(1));
    await worker.idle();
    expect(log).toEqual(['gave up loop:1 after 1: HTTP 401']);
  });

  it('treats a post that throws as a network error instead of dying', async () => {
    const { worker, log } = harness((_n, attempt) => {
      if (attempt === 1) throw new Error('boom');
      return ok;
    });
    worker.enqueue(item(1));
    await worker.idle();
    expect(log).toEqual(['attempt 1 of loop:1 failed: boom', 'delivered loop:1 after 2']);
  });

  it('while the receiver hangs, enqueue returns at once and the queue drops its oldest beyond capacity', async () => {
    let release: (r: DeliveryResult) => void = () => undefined;
    const { worker, log } = harness(() => new Promise<DeliveryResult>((resolve) => (release = resolve)), 3);
    const started = performance.now();
    for (let n = 1; n <= 10; n += 1) worker.enqueue(item(n)); // 1 in flight, 2..10 queued in 3 slots
    expect(performance.now() - started).toBeLessThan(50);
    expect(worker.depth).toBe(3);
    expect(log).toEqual([
      'dropped loop:2: queue_full',
      'dropped loop:3: queue_full',
      'dropped loop:4: queue_full',
      'dropped loop:5: queue_full',
      'dropped loop:6: queue_full',
      'dropped loop:7: queue_full',
    ]);
    release(ok);
    await new Promise((r) => setImmediate(r));
    release(ok);
    await new Promise((r) => setImmediate(r));
    release(ok);
    await new Promise((r) => setImmediate(r));
    release(ok);
    await worker.idle();
    expect(log.slice(6)).toEqual([
      'delivered loop:1 after 1',
      'delivered loop:8 after 1',
      'delivered loop:9 after 1',
      'delivered loop:10 after 1',
    ]);
  });

  it('stop() aborts the request in flight and drops (counts) what is queued', async () => {
    let seenSignal: AbortSignal | undefined;
    const { worker, log } = harness(() => ok);
    (worker as unknown as { deps: { post: unknown } }).deps.post = (_i: WebhookItem, signal: AbortSignal) => {
      seenSignal = signal;
      return new Promise<DeliveryResult>((resolve) =>
        signal.addEventListener('abort', () => resolve({ kind: 'network_error', error: 'aborted' })),
      );
    };
    worker.enqueue(item(1));
    worker.enqueue(item(2));
    worker.stop();
    await worker.idle();
    expect(seenSignal?.aborted).toBe(true);
    expect(log.sort()).toEqual(['dropped loop:1: stopped', 'dropped loop:2: stopped']);
    worker.enqueue(item(3));
    expect(log).toContain('dropped loop:3: stopped');
  });
});
