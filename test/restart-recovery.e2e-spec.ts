import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRequestId, type TradeSignal } from '@app/core';
import { startFakeMt5Bridge, type FakeMt5Bridge } from './fakes/fake-mt5-bridge';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

/**
 * Signals an earlier run accepted but never recorded as ended are taken up after a restart
 * without trusting the bridge's 24-hour memory of request ids: a position carrying the request id
 * means it executed; an old one without a position is not sent at a price nobody chose.
 */
describe('restart recovery of unfinished signals', () => {
  let bridge: FakeMt5Bridge;
  let t: TestApp | undefined;
  let dir: string;
  beforeEach(async () => {
    bridge = await startFakeMt5Bridge({ balance: 10_000 });
    dir = await mkdtemp(join(tmpdir(), 'restart-recovery-'));
  });
  afterEach(async () => {
    await t?.close();
    await bridge.close();
    await rm(dir, { recursive: true, force: true });
  });

  const accepted = (id: string, ageMs: number) => {
    const at = Date.now() - ageMs;
    const signal: TradeSignal = {
      id,
      instrument: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      createdAtMs: at,
      receivedAtMs: at,
      source: 'inbox',
    };
    return `${JSON.stringify({ id, status: 'accepted', at, signal })}\n`;
  };

  it('settles a filled one by its comment, drops a stale one, and sends a fresh one once', async () => {
    // The previous run: three accepted signals, none recorded as ended; the first did fill.
    await appendFile(
      join(dir, 'signals.jsonl'),
      accepted('filled-before-crash', 600_000) +
        accepted('stale-never-sent', 600_000) +
        accepted('fresh', 1_000),
    );
    bridge.addPosition({
      symbol: 'EURUSD',
      type: 'buy',
      volume: 0.1,
      magic: 19019,
      comment: openRequestId('filled-before-crash'),
    });

    t = await startTestApp(
      {
        ...bridge.serviceEnv(),
        SIGNALS_HMAC_SECRET: 'restart-recovery-secret-0123',
      },
      dir,
    );
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === 'fresh');
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === 'filled-before-crash');
    const stale = await t.waitForEvent('trade_failed', (e) => e.payload.signal_id === 'stale-never-sent');
    expect(stale.payload.reason).toBe('stale_after_restart');

    const orders = bridge.requestsTo('POST', '/v1/orders').map((r) => r.idempotencyKey);
    expect(orders).toEqual([openRequestId('fresh')]);
    expect(bridge.positions()).toHaveLength(2);
  });

  it('while the halt latch holds: a restored signal whose order filled ends executed (its position closed), an unsent one rejected', async () => {
    // Found by the crash stress run: a restored signal met the halt check before anyone looked
    // for its fill, so a filled order (then closed by the start-up close-all) ended "rejected".
    const env = { ...bridge.serviceEnv(), SIGNALS_HMAC_SECRET: 'restart-recovery-secret-0123' };
    t = await startTestApp(env, dir);
    expect((await t.admin('POST', '/api/v1/halt', { reason: 'before the crash' })).status).toBe(200);
    await t.close({ keepState: true });
    t = undefined;
    await appendFile(
      join(dir, 'signals.jsonl'),
      accepted('filled-then-halted', 2_000) + accepted('never-sent-halted', 2_000),
    );
    bridge.addPosition({
      symbol: 'EURUSD',
      type: 'buy',
      volume: 0.1,
      magic: 19019,
      comment: openRequestId('filled-then-halted'),
    });

    t = await startTestApp(env, dir);
    const app = t;
    const filled = await app.waitForEvent(
      'trade_executed',
      (e) => e.payload.signal_id === 'filled-then-halted',
    );
    expect(filled.payload.request_id).toBe(openRequestId('filled-then-halted'));
    // Its earlier run may have sent it moments before stopping: it is rejected once a listing
    // comes after the bridge's 30 s signature window (plus 5 s), when that order cannot arrive.
    const refused = await app.waitForEvent(
      'signal_rejected',
      (e) => e.payload.signal_id === 'never-sent-halted',
      45_000,
    );
    expect(refused.payload.reason).toBe('halted');
    expect(app.eventsOf('signal_rejected').map((e) => e.payload.signal_id)).not.toContain(
      'filled-then-halted',
    );
    // Halted: nothing opened, and the leftover position is closed.
    expect(bridge.requestsTo('POST', '/v1/orders')).toEqual([]);
    await waitUntil(() => bridge.positions().length === 0, {
      what: 'the leftover position to be closed',
      timeoutMs: 5_000,
    });
    expect(bridge.positions()).toEqual([]);
  }, 70_000);
});
