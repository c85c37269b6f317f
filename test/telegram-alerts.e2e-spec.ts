import { AlertDispatcher } from '@app/alerts';
import { startFakeMt5Bridge, type FakeMt5Bridge } from './fakes/fake-mt5-bridge';
import { startFakeTelegram, type FakeTelegram } from './fakes/fake-telegram';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';

const SECRET = 'inbox-secret-for-telegram-tests';
const firstLine = (text: string) => text.split('\n')[0];

/** Until every alert handed over so far has been sent (or given up); fails if that takes over `timeoutMs`. */
async function drained(t: TestApp, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  await t.app.get(AlertDispatcher).drain(timeoutMs);
  if (Date.now() - started >= timeoutMs) throw new Error(`alerts not drained within ${timeoutMs} ms`);
}

/** Alerts reach Telegram through telegraf (pointed at a fake Bot API), without ever holding up trading. */
describe('telegram alerts', () => {
  let telegram: FakeTelegram;
  let t: TestApp | undefined;

  beforeEach(async () => {
    telegram = await startFakeTelegram();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await telegram.close();
  });

  it('sends the cap alert with the spec’s first line to the configured chat', async () => {
    const bridge: FakeMt5Bridge = await startFakeMt5Bridge({ balance: 10_000 });
    try {
      for (const symbol of ['EURUSD', 'GBPUSD', 'USDJPY'])
        bridge.addPosition({ symbol, type: 'buy', volume: 0.1, magic: 19019 });
      t = await startTestApp({
        ...telegram.env,
        ...bridge.serviceEnv(),
        SIGNALS_HMAC_SECRET: SECRET,
        EQUITY_CHECK_INTERVAL_MS: '100',
      });
      await t.waitForEvent('equity_sample', (e) => e.payload.baseline_equity === 10_000);
      bridge.setEquity(7_500);
      const alert = await telegram.waitForMessage((m) => /^Drawdown \d/.test(m.text));
      expect(firstLine(alert.text)).toBe('Drawdown 25.0% exceeds cap 20%; closed 3 positions');
      expect(alert.chat_id).toBe(telegram.chatId);
      expect(alert.text).toContain('Loop test-loop');
    } finally {
      await t?.close();
      t = undefined;
      await bridge.close();
    }
  });

  it('after 429 retry_after 2 on the first sends, each alert still arrives, later, exactly once', async () => {
    telegram.failNextSends({ kind: '429', retryAfter: 2 }, 2);
    t = await startTestApp({ ...telegram.env, SIGNALS_HMAC_SECRET: SECRET });
    const haltedAt = Date.now();
    expect((await t.admin('POST', '/api/v1/halt', { reason: 'rate limit test' })).status).toBe(200);
    await t.waitForEvent('halted');
    expect((await t.admin('POST', '/api/v1/resume', { reviewed_by: 'alice', note: 'fine' })).status).toBe(
      200,
    );

    const resumed = await telegram.waitForMessage(
      (m) => m.text.startsWith('Trading resumed by alice'),
      15_000,
    );
    const halted = telegram.messages.find((m) => m.text.startsWith('Trading halted (manual)'));
    expect(halted).toBeDefined();
    // Two 429s with retry_after 2, both honoured: the first alert lands no sooner than 4 s later.
    expect(halted!.receivedAt - haltedAt).toBeGreaterThanOrEqual(3900);
    expect(resumed.receivedAt).toBeGreaterThanOrEqual(halted!.receivedAt);
    const sends = telegram.callsTo('sendMessage');
    expect(sends.filter((c) => c.status === 429)).toHaveLength(2);
    expect(sends[1].receivedAt - sends[0].receivedAt).toBeGreaterThanOrEqual(1950);
    // The sender has nothing left to send or retry: a duplicate would have gone out by then.
    await drained(t);
    const texts = telegram.messages.map((m) => firstLine(m.text));
    expect(texts.filter((x) => x.startsWith('Trading halted (manual)'))).toHaveLength(1);
    expect(texts.filter((x) => x.startsWith('Trading resumed by alice'))).toHaveLength(1);
  });

  it('Telegram down entirely does not slow signal execution, and the alerts wait instead of being lost', async () => {
    const latencies = async (count: number) => {
      const results: number[] = [];
      for (let i = 0; i < count; i++) {
        const body = signalBody();
        expect((await postSignal(t!.baseUrl, SECRET, body)).status).toBe(202);
        const executed = await t!.waitForEvent('trade_executed', (e) => e.payload.signal_id === body.id);
        results.push(executed.payload.latency_ms);
      }
      return results.sort((a, b) => a - b);
    };

    // Baseline with a working Telegram.
    t = await startTestApp({ ...telegram.env, SIGNALS_HMAC_SECRET: SECRET });
    const healthy = await latencies(10);
    await t.close();

    telegram.setDown(true);
    t = await startTestApp({ ...telegram.env, SIGNALS_HMAC_SECRET: SECRET });
    // Give the sender something to be stuck on: a halt and a resume alert, retrying against a dead API.
    const started = Date.now();
    expect((await t.admin('POST', '/api/v1/halt', { reason: 'telegram down test' })).status).toBe(200);
    expect((await t.admin('POST', '/api/v1/resume', { reviewed_by: 'bob', note: 'ok' })).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000); // halt/resume did not wait for Telegram either
    const down = await latencies(10);

    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
    expect(median(down)).toBeLessThan(median(healthy) + 50);
    expect(down[down.length - 1]).toBeLessThan(500);
    expect(telegram.messages).toHaveLength(0);

    // Telegram comes back: the queued alerts are delivered.
    telegram.setDown(false);
    await telegram.waitForMessage((m) => m.text.startsWith('Trading resumed by bob'), 40_000);
    expect(telegram.messages.some((m) => m.text.startsWith('Trading halted (manual)'))).toBe(true);
  }, 60_000);
});
