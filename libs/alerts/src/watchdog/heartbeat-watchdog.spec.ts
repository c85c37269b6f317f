import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHeartbeatWatchdog, type HeartbeatWatchdog, type WatchdogReport } from './heartbeat-watchdog';

/** A minimal Bot API endpoint: records sendMessage bodies; answers 429 to the first `rateLimited` calls. */
async function startBotApi(rateLimited = 0) {
  const received: { path: string; body: { chat_id: string; text: string }; at: number }[] = [];
  let refusals = rateLimited;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (refusals > 0) {
        refusals--;
        res.statusCode = 429;
        res.end(
          JSON.stringify({
            ok: false,
            error_code: 429,
            description: 'Too Many Requests: retry after 1',
            parameters: { retry_after: 1 },
          }),
        );
        return;
      }
      received.push({ path: req.url ?? '', body: JSON.parse(raw), at: Date.now() });
      res.end(JSON.stringify({ ok: true, result: { message_id: received.length } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const until = async (condition: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('heartbeat watchdog worker', () => {
  let watchdog: HeartbeatWatchdog | undefined;
  afterEach(async () => {
    await watchdog?.stop();
    watchdog = undefined;
  });

  it('alerts once when the stamp is older than staleAfterMs, and once more when it moves again', async () => {
    const api = await startBotApi();
    const logPath = join(mkdtempSync(join(tmpdir(), 'watchdog-')), 'log.jsonl');
    const logFd = openSync(logPath, 'a');
    const buffer = new SharedArrayBuffer(8);
    const view = new BigInt64Array(buffer);
    Atomics.store(view, 0, BigInt(Date.now()));
    const reports: WatchdogReport[] = [];
    watchdog = startHeartbeatWatchdog({
      buffer,
      loopId: 'loop-7',
      staleAfterMs: 300,
      checkIntervalMs: 25,
      logFd,
      telegram: { apiRoot: api.url, botToken: '123:abc', chatId: '-100' },
    });
    watchdog.onReport((r) => reports.push(r));
    try {
      await until(() => api.received.length === 1);
      expect(api.received[0].path).toBe('/bot123:abc/sendMessage');
      expect(api.received[0].body.chat_id).toBe('-100');
      expect(api.received[0].body.text).toMatch(/^Heartbeat stale: loop loop-7, no heartbeat for 0 s\n/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(api.received).toHaveLength(1); // still stale: not repeated

      Atomics.store(view, 0, BigInt(Date.now()));
      await until(() => api.received.length === 2);
      expect(api.received[1].body.text).toMatch(/^Heartbeat recovered: loop loop-7/);
      await until(() => reports.filter((r) => r.type === 'telegram_sent').length === 2);
      expect(reports.map((r) => r.type)).toEqual([
        'heartbeat_stale',
        'telegram_sent',
        'heartbeat_recovered',
        'telegram_sent',
      ]);

      const lines = readFileSync(logPath, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.type)).toEqual(['heartbeat_stale', 'heartbeat_recovered']);
      expect(lines[0]).toMatchObject({ level: 30, loop_id: 'loop-7', seconds_since_heartbeat: 0 });
    } finally {
      closeSync(logFd);
      await api.close();
    }
  });

  it('says nothing before the first stamp', async () => {
    const api = await startBotApi();
    watchdog = startHeartbeatWatchdog({
      buffer: new SharedArrayBuffer(8),
      loopId: 'l',
      staleAfterMs: 50,
      checkIntervalMs: 10,
      logFd: null,
      telegram: { apiRoot: api.url, botToken: '1:a', chatId: '1' },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(api.received).toHaveLength(0);
    await api.close();
  });

  it('waits what a 429 asks and still delivers the alert once', async () => {
    const api = await startBotApi(1);
    const buffer = new SharedArrayBuffer(8);
    Atomics.store(new BigInt64Array(buffer), 0, BigInt(Date.now() - 10_000));
    const started = Date.now();
    watchdog = startHeartbeatWatchdog({
      buffer,
      loopId: 'l',
      staleAfterMs: 1000,
      checkIntervalMs: 25,
      logFd: null,
      telegram: { apiRoot: `${api.url}/`, botToken: '1:a', chatId: '1' },
    });
    await until(() => api.received.length === 1, 5000);
    expect(api.received[0].at - started).toBeGreaterThanOrEqual(1000);
    expect(api.received[0].body.text).toMatch(/^Heartbeat stale: loop l, no heartbeat for 10 s/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(api.received).toHaveLength(1);
    await api.close();
  });
});
