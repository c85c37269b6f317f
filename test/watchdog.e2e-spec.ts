import { startFakeTelegram, type FakeTelegram } from './fakes/fake-telegram';
import { ServiceProcess } from './support/service-process';
import { waitUntil } from './support/wait-until';

const ADMIN_TOKEN = 'watchdog-test-admin-token-0123456789';

/**
 * The heartbeat watchdog against the compiled service in its own process: the fake Bot API runs
 * here, so it stays responsive while the service's main thread is frozen, and the message can
 * only have come from the watchdog's worker thread.
 */
describe('heartbeat watchdog', () => {
  let telegram: FakeTelegram;
  let service: ServiceProcess | undefined;

  beforeAll(() => ServiceProcess.buildOnce(), 180_000);
  beforeEach(async () => {
    telegram = await startFakeTelegram();
    service = await ServiceProcess.start({
      ...telegram.env,
      ADMIN_TOKEN,
      DEBUG_FAULTS: 'true',
      LOOP_ID: 'wd-loop',
      HEARTBEAT_INTERVAL_MS: '500',
      HEARTBEAT_STALE_AFTER_MS: '3000',
    });
    await service.waitUntilReady();
    await service.waitForLine((l) => l.type === 'heartbeat');
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    await telegram?.close();
  });

  const debug = (path: string, ms: number) =>
    fetch(`${service!.baseUrl}/api/v1/debug/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ms }),
    });

  it('alerts "Heartbeat stale" during a 6 s block of the main thread, and "Heartbeat recovered" after', async () => {
    expect((await debug('block-event-loop', 6000)).status).toBe(200);
    const blockStarted = Date.now();
    const blockEnds = blockStarted + 6000;

    const stale = await telegram.waitForMessage((m) => m.text.startsWith('Heartbeat stale:'), 10_000);
    expect(stale.text).toMatch(/^Heartbeat stale: loop wd-loop, no heartbeat for \d+ s/);
    expect(stale.receivedAt).toBeLessThan(blockEnds - 300); // while the main thread is still frozen
    expect(stale.receivedAt - blockStarted).toBeGreaterThan(1500); // not before the heartbeat could be stale
    // The service really was frozen then: it answered nothing until the block ended.
    const probeSentAt = Date.now();
    await fetch(`${service!.baseUrl}/health/live`).catch(() => undefined);
    expect(Date.now()).toBeGreaterThan(blockEnds - 500);
    expect(probeSentAt).toBeLessThan(blockEnds - 300);

    const recovered = await telegram.waitForMessage((m) => m.text.startsWith('Heartbeat recovered:'), 10_000);
    expect(recovered.text).toMatch(/^Heartbeat recovered: loop wd-loop/);
    expect(recovered.receivedAt).toBeGreaterThanOrEqual(blockEnds - 100);

    // The log lines come from the worker, once each, the stale one written during the block.
    const staleLines = service!.lines.filter((l) => l.type === 'heartbeat_stale');
    expect(staleLines).toHaveLength(1);
    expect(staleLines[0]).toMatchObject({ loop_id: 'wd-loop' });
    expect(Date.parse(String(staleLines[0].time))).toBeLessThan(blockEnds);
    await service!.waitForLine((l) => l.type === 'heartbeat_recovered');
    expect(telegram.messages.filter((m) => m.text.startsWith('Heartbeat stale:'))).toHaveLength(1);
  }, 40_000);

  it('alerts the same way when a tick stalls (an awaited call that never returns), while /health/live fails', async () => {
    expect((await debug('stall-loop', 6000)).status).toBe(200);
    const stalledAt = Date.now();
    const stale = await telegram.waitForMessage((m) => m.text.startsWith('Heartbeat stale:'), 10_000);
    expect(stale.receivedAt - stalledAt).toBeLessThan(6000);
    expect((await fetch(`${service!.baseUrl}/health/live`)).status).toBe(503);

    await telegram.waitForMessage((m) => m.text.startsWith('Heartbeat recovered:'), 10_000);
    await waitUntil(async () => (await fetch(`${service!.baseUrl}/health/live`)).status === 200, {
      what: '/health/live to answer 200 again',
      timeoutMs: 5_000,
      intervalMs: 100,
    });
    expect((await fetch(`${service!.baseUrl}/health/live`)).status).toBe(200);
    await service!.waitForLine((l) => l.type === 'heartbeat_recovered');
  }, 40_000);
});
