import { openRequestId } from '@app/core';
import { PlatformSignalSource } from '@app/signals/platform/platform-signal-source';
import { startFakeMt5Bridge, type FakeMt5Bridge } from './fakes/fake-mt5-bridge';
import { platformSignal, startFakePlatform, type FakePlatform } from './fakes/fake-platform';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

/**
 * SIGNAL_SOURCES=platform end to end: the real app polls a fake approvals platform (signed, as
 * the bridge) and trades on a fake MT5 bridge, so fills are counted where they happen.
 */
describe('approvals platform signal source', () => {
  let bridge: FakeMt5Bridge;
  let platform: FakePlatform;
  let t: TestApp;

  const start = async (env: Record<string, string> = {}) => {
    t = await startTestApp({
      ...bridge.serviceEnv(),
      MT5_TIMEOUT_MS: '500',
      SIGNAL_SOURCES: 'platform',
      PLATFORM_API_URL: platform.url,
      PLATFORM_API_KEY_ID: platform.keyId,
      PLATFORM_API_SECRET: platform.secret,
      ...env,
    });
  };
  const source = () => t.app.get(PlatformSignalSource);

  beforeEach(async () => {
    bridge = await startFakeMt5Bridge();
    platform = await startFakePlatform();
  });
  afterEach(async () => {
    await t?.close();
    await platform.close();
    await bridge.close();
  });

  it('polls signed, fills each approved signal once though the platform repeats it, with approval_time_ms = approved_at - created_at', async () => {
    const a = platformSignal({ instrument: 'EURUSD' }, 4_250);
    const b = platformSignal({ instrument: 'GBPUSD', side: 'sell', volume: 0.2, sl: 1.5, tp: 1.0 }, 90_000);
    platform.signals = [a, b];
    await start();
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === a.id);
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === b.id);
    // Let the platform repeat both on several more polls. Waiting on the source's own count, not
    // on the fake's: the fake records a poll before the source has read its answer.
    await waitUntil(() => source().stats.duplicates >= 6, {
      what: 'the source to skip 6 repeated signals',
      timeoutMs: 10_000,
    });

    for (const s of [a, b])
      expect(t.eventsOf('trade_executed').filter((e) => e.payload.signal_id === s.id)).toHaveLength(1);
    expect(bridge.fills).toBe(2);
    expect(bridge.distinctOrderKeys.sort()).toEqual([openRequestId(a.id), openRequestId(b.id)].sort());
    expect(bridge.positions().find((p) => p.comment === openRequestId(b.id))).toMatchObject({
      type: 'sell',
      volume: 0.2,
      sl: 1.5,
      tp: 1.0,
    });

    const approved = (id: string) => t.eventsOf('signal_approved').filter((e) => e.payload.signal_id === id);
    expect(approved(a.id).map((e) => e.payload.approval_time_ms)).toEqual([4_250]);
    expect(approved(b.id).map((e) => e.payload.approval_time_ms)).toEqual([90_000]);
    expect(t.eventsOf('signal_received').find((e) => e.payload.signal_id === a.id)?.payload).toMatchObject({
      source: 'platform',
      created_at: a.created_at,
    });

    expect(platform.polls.every((r) => r.signatureOk && r.status === 200)).toBe(true);
    expect(JSON.parse(platform.polls[0].body)).toEqual({ limit: expect.any(Number) });
    expect(source().stats).toMatchObject({ accepted: 2, invalid: 0, pollFailures: 0 });
    expect(source().stats.duplicates).toBeGreaterThanOrEqual(6);
  });

  it('a bad signal is logged, counted and skipped; the good ones beside it fill and polling goes on', async () => {
    const good = platformSignal();
    const badVolume = platformSignal({ volume: -1 });
    const noApproval = platformSignal();
    delete (noApproval as Record<string, unknown>).approved_at;
    const extraField = platformSignal({ instrument: 'USDJPY', desk: 'fx-1' }); // unknown fields are ignored
    platform.signals = [badVolume, 'not an object', noApproval, good, extraField];
    await start();
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === good.id);
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === extraField.id);
    const polls = platform.polls.length;
    await waitUntil(() => platform.polls.length >= polls + 2, { what: '2 more polls' });
    expect(bridge.fills).toBe(2);
    for (const bad of [badVolume, noApproval])
      expect(t.events.some((e) => 'signal_id' in e.payload && e.payload.signal_id === bad.id)).toBe(false);
    // Three bad entries on every poll, each counted.
    expect(source().stats.invalid).toBeGreaterThanOrEqual(3 * (polls + 2) - 3);
    expect(source().stats.invalid % 3).toBe(0);
  });

  it('platform failures back off exponentially, are counted, never crash; polling recovers and fills', async () => {
    await start();
    await waitUntil(() => platform.polls.length >= 2, { what: '2 polls' });
    // Four failing polls: 503, a garbage envelope, a dropped connection, then connection refused.
    platform.failNext({ kind: 'http', status: 503 }, 1);
    platform.failNext({ kind: 'garbage' }, 1);
    platform.failNext({ kind: 'reset' }, 1);
    const failuresFrom = platform.polls.length;
    await waitUntil(() => platform.polls.length >= failuresFrom + 3, { what: 'the 3 failing polls' });
    await platform.setDown(true);
    // The fourth poll comes about 4 s after the third: connection refused.
    await waitUntil(() => source().stats.consecutiveFailures >= 4, {
      what: 'a fourth failed poll in a row',
      timeoutMs: 8_000,
    });
    expect(source().stats.consecutiveFailures).toBe(4);
    expect(source().stats.lastError).toEqual(expect.stringContaining('ECONNREFUSED'));
    expect((await fetch(`${t.baseUrl}/health/live`)).status).toBe(200);

    // Gaps between the failing polls follow the doubling step with equal jitter: half to all of
    // 1 s after the first failure, half to all of 2 s after the second (plus a little scheduling slack).
    const at = platform.polls.slice(failuresFrom).map((r) => r.at);
    const gap1 = at[1] - at[0];
    const gap2 = at[2] - at[1];
    expect(gap1).toBeGreaterThanOrEqual(480);
    expect(gap1).toBeLessThanOrEqual(1_250);
    expect(gap2).toBeGreaterThanOrEqual(980);
    expect(gap2).toBeLessThanOrEqual(2_250);

    const s = platformSignal();
    platform.signals = [s];
    await platform.setDown(false);
    // Next poll within the backoff (at most 8 s after four failures).
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === s.id, 15_000);
    expect(source().stats.consecutiveFailures).toBe(0);
    expect(source().stats.pollFailures).toBeGreaterThanOrEqual(4);
    expect(bridge.fills).toBe(1);
  }, 40_000);

  it('signs with the configured secret: a wrong secret is refused by the platform (401), counted, and nothing trades', async () => {
    platform.signals = [platformSignal()];
    await start({ PLATFORM_API_SECRET: 'not-the-platform-secret' });
    await waitUntil(() => platform.polls.length >= 2, { what: '2 polls' });
    expect(platform.polls.every((r) => !r.signatureOk && r.status === 401)).toBe(true);
    expect(source().stats.lastError).toEqual(expect.stringContaining('HTTP 401'));
    expect(source().stats.accepted).toBe(0);
    expect(t.eventsOf('signal_received')).toHaveLength(0);
    expect(bridge.fills).toBe(0);
  });
});
