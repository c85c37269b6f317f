import { sampleValue } from './support/prometheus-sample';
import { EventBus } from '@app/common';
import { WEBHOOK_QUEUE_CAPACITY } from '@app/analytics/webhooks/webhook-dispatcher';
import {
  refusedUrl,
  startFakeWebhookReceiver,
  type FakeWebhookReceiver,
} from './fakes/fake-webhook-receiver';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

/** Milliseconds from POST to trade_executed for `n` signals sent one after another (after one warm-up). */
async function timeTrades(t: TestApp, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i <= n; i += 1) {
    const body = signalBody();
    const started = performance.now();
    expect((await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, body)).status).toBe(202);
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === body.id);
    if (i > 0) times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

const metric = sampleValue;

/** A webhook that refuses connections and one that never answers do not slow trading. */
describe('dead analytics webhooks', () => {
  let t: TestApp | undefined;
  let hanging: FakeWebhookReceiver;

  beforeEach(async () => {
    hanging = await startFakeWebhookReceiver({ kind: 'hang' });
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await hanging.close();
  });

  it('trades as fast as with no webhook at all, while failures are retried and counted', async () => {
    t = await startTestApp();
    const baseline = await timeTrades(t, 15);
    await t.close();

    t = await startTestApp({ ANALYTICS_WEBHOOK_URLS: `${await refusedUrl()},${hanging.url}` });
    const withDead = await timeTrades(t, 15);
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
    // Same machine, same run: the medians stay close, and no trade waits for a webhook timeout (5 s).
    expect(median(withDead)).toBeLessThan(median(baseline) * 2 + 15);
    expect(withDead[withDead.length - 1]).toBeLessThan(1_000);

    // The first retry of the refused one (after <= 500 ms backoff) has been made and has failed too:
    // its second failed attempt is counted. Meanwhile the hanging one has had the same time.
    const app = t;
    const text = await waitUntil(
      async () => {
        const scraped = await (await fetch(`${app.baseUrl}/metrics`)).text();
        return metric(scraped, 'trading_webhook_attempt_failures_total{webhook="0"}') >= 2
          ? scraped
          : undefined;
      },
      { what: 'the first retry of the refused webhook to fail', timeoutMs: 5_000, intervalMs: 50 },
    );
    expect(metric(text, 'trading_webhook_attempt_failures_total{webhook="0"}')).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'trading_webhook_events_total{webhook="0",outcome="delivered"}')).toBe(0);
    expect(metric(text, 'trading_webhook_events_total{webhook="1",outcome="delivered"}')).toBe(0);
    expect(hanging.requests).toBe(1); // one request in flight, the rest waiting in order
    expect(metric(text, 'trading_webhook_queue_depth{webhook="1"}')).toBeGreaterThan(15 * 3);
  });

  it('a burst of events is a queue push each: bounded queues, oldest dropped and counted', async () => {
    t = await startTestApp({ ANALYTICS_WEBHOOK_URLS: hanging.url });
    const bus = t.app.get(EventBus);
    const n = WEBHOOK_QUEUE_CAPACITY * 5;
    const started = performance.now();
    for (let i = 0; i < n; i += 1)
      bus.publish('signal_rejected', { signal_id: `burst-${i}`, reason: 'test burst' });
    const perEventMs = (performance.now() - started) / n;
    expect(perEventMs).toBeLessThan(0.5); // a queue push and a JSON.stringify, not a request
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metric(text, 'trading_webhook_queue_depth{webhook="0"}')).toBe(WEBHOOK_QUEUE_CAPACITY);
    // One is in flight (to a receiver that never answers), CAPACITY wait, the rest were dropped.
    expect(
      metric(text, 'trading_webhook_events_total{webhook="0",outcome="dropped"}'),
    ).toBeGreaterThanOrEqual(n - WEBHOOK_QUEUE_CAPACITY - 1 - 10);
  });
});
