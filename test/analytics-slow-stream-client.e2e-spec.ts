import { sampleValue } from './support/prometheus-sample';
import { connect, type Socket } from 'node:net';
import { EventStreamHub } from '@app/analytics';
import { EventBus } from '@app/common';
import { connectEventStream } from './fakes/event-stream-client';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

const MAX_BUFFERED = 64 * 1024;
const FRAME_PAYLOAD = 'x'.repeat(8 * 1024);

/** Opens the stream on a raw socket that never reads a byte after the request. */
async function connectNonReader(t: TestApp): Promise<Socket> {
  const url = new URL(t.baseUrl);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `GET /api/v1/events/stream HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${t.secrets.adminToken}\r\nAccept: text/event-stream\r\n\r\n`,
  );
  socket.pause();
  return socket;
}

/** The live stream drops a client that does not read instead of buffering for it without bound. */
describe('event stream with a client that never reads', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('drops the non-reader once its buffer passes the bound, and the reading client gets every event', async () => {
    const hub = t.app.get(EventStreamHub);
    hub.configure({ maxBufferedBytes: MAX_BUFFERED });
    const reader = await connectEventStream(`${t.baseUrl}/api/v1/events/stream`, t.secrets.adminToken);
    const slow = await connectNonReader(t);
    const slowClosed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    slow.on('error', () => undefined); // the server resets it
    await waitUntil(() => hub.stats().clients >= 2, { what: 'both stream clients to be connected' });

    // Publish 8 KiB events in batches smaller than the bound, letting the sockets flush in between
    // (the reading client has every event of a batch before the next one goes out), until the
    // kernel buffers of the non-reader are full and the server starts to queue for it.
    // (A single synchronous burst bigger than the bound would drop a reading client too: by design.)
    const bus = t.app.get(EventBus);
    const readerHas = (n: number) => (m: { event: string }[]) =>
      m.filter((x) => x.event === 'signal_rejected').length >= n;
    let sent = 0;
    while (hub.stats().dropped === 0 && sent < 8_000) {
      for (let i = 0; i < 6; i += 1)
        bus.publish('signal_rejected', { signal_id: `big-${sent++}`, reason: FRAME_PAYLOAD });
      await reader.waitFor(readerHas(sent));
    }
    expect(hub.stats().dropped).toBe(1);
    slow.resume(); // the server closed it: reading what the kernel still holds leads to the end
    await slowClosed;
    // What the server held for the non-reader never went past the bound by more than one frame.
    expect(hub.stats().max_buffered_bytes).toBeLessThanOrEqual(MAX_BUFFERED + FRAME_PAYLOAD.length + 512);
    expect(hub.stats().clients).toBe(1);

    // The client that reads is still there and has seen every one of those events, in order.
    await reader.waitFor((m) => m.filter((x) => x.event === 'signal_rejected').length === sent, 20_000);
    const ids = reader.messages.filter((x) => x.event === 'signal_rejected').map((x) => x.data.signal_id);
    expect(ids).toEqual(Array.from({ length: sent }, (_, i) => `big-${i}`));
    expect(reader.closed).toBe(false);

    // Publishing goes on with no growth: nothing is kept for the dropped client.
    const before = process.memoryUsage();
    for (let i = 0; i < 200; i += 1)
      bus.publish('signal_rejected', { signal_id: `after-${i}`, reason: 'small' });
    expect(hub.stats().dropped).toBe(1);
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(sampleValue(text, 'trading_event_stream_dropped_clients_total')).toBe(1);
    expect(sampleValue(text, 'trading_event_stream_clients')).toBe(1);
    expect(process.memoryUsage().external - before.external).toBeLessThan(8 * 1024 * 1024);
    reader.close();
  });

  it('sends keep-alive comments while idle', async () => {
    t.app.get(EventStreamHub).configure({ keepAliveMs: 50 });
    const reader = await connectEventStream(`${t.baseUrl}/api/v1/events/stream`, t.secrets.adminToken);
    await reader.waitForComments(3);
    expect(reader.comments).toBeGreaterThanOrEqual(3);
    reader.close();
  });
});
