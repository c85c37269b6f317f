import { signInboxRequest } from '@app/core';
import { connectEventStream, type EventStreamClient } from './fakes/event-stream-client';
import { startFakeWebhookReceiver, type FakeWebhookReceiver } from './fakes/fake-webhook-receiver';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';
import { sampleValue } from './support/prometheus-sample';

const PIPELINE = ['signal_received', 'signal_approved', 'trade_executed'] as const;

/** One signal through the real app (paper account): events in the log, the live stream, a webhook, the APIs and /metrics. */
describe('analytics of a signal end to end', () => {
  let t: TestApp;
  let receiver: FakeWebhookReceiver;
  let stream: EventStreamClient;

  beforeAll(async () => {
    receiver = await startFakeWebhookReceiver();
    t = await startTestApp({ ANALYTICS_WEBHOOK_URLS: receiver.url });
    stream = await connectEventStream(`${t.baseUrl}/api/v1/events/stream`, t.secrets.adminToken);
    // A first signal warms the path (JIT, first ledger file, first HTTP connection), as in a running service.
    const warmUp = signalBody();
    await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, warmUp);
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === warmUp.id);
  });
  afterAll(async () => {
    stream?.close();
    await t?.close();
    await receiver?.close();
  });

  it('logs signal_received, signal_approved and trade_executed once each, in order, and they reach the stream and the webhook', async () => {
    const sentAt = Date.now();
    const body = signalBody({ created_at: new Date(sentAt - 250).toISOString() });
    const id = body.id as string;
    const posted = await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, body);
    expect(posted.status).toBe(202);
    const executed = await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === id);
    const processing = Date.now() - sentAt;

    // The bus (every event is one log line): each once, in this order, all about this signal.
    const mine = t.events
      .filter((e) => 'signal_id' in e.payload && e.payload.signal_id === id)
      .map((e) => e.type);
    expect(mine).toEqual([...PIPELINE]);

    // created_at 250 ms before the POST: the latency runs from creation to fill.
    expect(executed.payload.latency_ms).toBeGreaterThanOrEqual(250);
    expect(executed.payload.latency_ms).toBeLessThanOrEqual(250 + processing);

    // The live stream: same three, same order, flattened with an ISO time.
    await stream.waitFor((m) => m.some((x) => x.event === 'trade_executed' && x.data.signal_id === id));
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    const streamed = stream.messages.filter((m) => m.data.signal_id === id);
    expect(streamed.map((m) => m.event)).toEqual([...PIPELINE]);
    expect(streamed.map((m) => m.data.type)).toEqual([...PIPELINE]);
    expect(streamed[2].data).toMatchObject({
      signal_id: id,
      ticket: executed.payload.ticket,
      latency_ms: executed.payload.latency_ms,
    });
    expect(new Date(streamed[2].data.at as string).getTime()).toBe(executed.at);
    expect(stream.messages.some((m) => m.event === 'equity_sample')).toBe(false);

    // The webhook: same three, in order, each signed with the inbox secret over `<timestamp>.<body>`.
    await receiver.waitFor((r) => r.some((x) => x.json.type === 'trade_executed' && x.json.signal_id === id));
    const hooks = receiver.received.filter((r) => r.json.signal_id === id);
    expect(hooks.map((r) => r.json.type)).toEqual([...PIPELINE]);
    for (const hook of hooks) {
      const ts = hook.headers['x-timestamp'] as string;
      expect(hook.headers['content-type']).toBe('application/json');
      expect(hook.headers['x-signature']).toBe(signInboxRequest(t.secrets.signalsHmacSecret, ts, hook.body));
      expect(hook.headers['x-event-type']).toBe(hook.json.type);
      expect(hook.headers['x-event-id']).toMatch(/^test-loop:\d+$/);
      expect(Math.abs(Number(ts) - Date.now())).toBeLessThan(5_000);
    }
    expect(new Set(hooks.map((h) => h.headers['x-event-id'])).size).toBe(3);
    expect(receiver.received.some((r) => r.json.type === 'equity_sample')).toBe(false);
  });

  it('GET /api/v1/analytics shows the counts and percentiles', async () => {
    const body = signalBody();
    await postSignal(t.baseUrl, t.secrets.signalsHmacSecret, body);
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === body.id);
    const latencies = t.eventsOf('trade_executed').map((e) => e.payload.latency_ms);
    const { status, body: report } = await t.admin('GET', '/api/v1/analytics');
    expect(status).toBe(200);
    expect(report.latency_ms.signal_to_execution).toMatchObject({
      count: 3,
      max: Math.max(...latencies),
      min: Math.min(...latencies),
    });
    // Nearest rank of 3 samples: p50 is the middle one (within the histogram's relative error:
    // 1 / (2 x 64 sub-buckets), 0.78 %), p99 the largest (exact).
    const middle = [...latencies].sort((a, b) => a - b)[1];
    expect(Math.abs(report.latency_ms.signal_to_execution.p50 - middle)).toBeLessThanOrEqual(
      middle / 128 + 1e-9,
    );
    expect(report.latency_ms.signal_to_execution.p99).toBe(Math.max(...latencies));
    expect(report.latency_ms.approval).toMatchObject({ count: 3, p50: 0 });
    expect(report.latency_ms.order_execution.count).toBe(3);
    expect(report.signals_per_minute).toBe(3);
    expect(report.execution).toEqual({ reached: 3, executed: 3, failed: 0, success_rate: 1 });
    expect(report.errors.errors).toBe(0);
    expect(report.errors.operations).toBeGreaterThanOrEqual(3 + t.eventsOf('equity_sample').length - 1);
    expect(report.errors.error_rate).toBe(0);
    expect(report.drawdown.cap_triggers).toBe(0);
    expect(report.drawdown.curve.summary.samples).toBeGreaterThanOrEqual(1);
    expect(report.drawdown.curve.points.length).toBeGreaterThanOrEqual(1);
    expect(report.drawdown.recovery).toMatchObject({
      episodes: expect.any(Number),
      recovery_times_ms: expect.any(Object),
    });
  });

  it('GET /api/v1/events?limit=2 returns the two newest events, newest last; a bad limit is 400; no token is 401', async () => {
    const { status, body } = await t.admin('GET', '/api/v1/events?limit=2');
    expect(status).toBe(200);
    const published = t.events.filter((e) => e.type !== 'equity_sample');
    const newest = published.slice(-2);
    expect(body.map((e: { type: string }) => e.type)).toEqual(newest.map((e) => e.type));
    expect(body.map((e: { at: string }) => new Date(e.at).getTime())).toEqual(newest.map((e) => e.at));
    expect(body[1]).toMatchObject({ ...newest[1].payload, type: newest[1].type });

    const all = await t.admin('GET', '/api/v1/events');
    expect(all.body.length).toBe(Math.min(100, published.length));
    for (const bad of ['0', '1001', 'abc', '1.5'])
      expect((await t.admin('GET', `/api/v1/events?limit=${bad}`)).status).toBe(400);
    for (const path of ['/api/v1/events', '/api/v1/events/stream', '/api/v1/analytics'])
      expect((await fetch(`${t.baseUrl}${path}`)).status).toBe(401);
  });

  it('/metrics after the trades: signals by outcome, trades, and the latency histograms in seconds', async () => {
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    const value = (series: string) => sampleValue(text, series);
    expect(value('trading_signals_total{outcome="accepted"}')).toBe(3);
    expect(value('trading_signals_total{outcome="executed"}')).toBe(3);
    expect(value('trading_signals_total{outcome="failed"}')).toBe(0);
    expect(value('trading_trades_total')).toBe(3);
    expect(value('trading_errors_total')).toBe(0);
    expect(value('trading_signal_latency_seconds_count')).toBe(3);
    // One signal was created 250 ms before it was sent: above the 0.25 s bucket, inside 0.5 s.
    expect(value('trading_signal_latency_seconds_bucket{le="0.5"}')).toBe(3);
    expect(value('trading_signal_latency_seconds_bucket{le="0.25"}')).toBe(2);
    expect(value('trading_signal_latency_seconds_sum')).toBeGreaterThanOrEqual(0.25);
    expect(value('trading_order_execution_seconds_count')).toBe(3);
    expect(value('trading_webhook_events_total{webhook="0",outcome="delivered"}')).toBeGreaterThanOrEqual(9);
    expect(value('trading_webhook_events_total{webhook="0",outcome="dropped"}')).toBe(0);
    expect(value('trading_event_stream_clients')).toBe(1);
  });
});
