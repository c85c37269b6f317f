import { startFakeMt5Bridge, type FakeMt5Bridge } from './fakes/fake-mt5-bridge';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

const SECRET = 'inbox-secret-for-what-if-tests';

interface CapAnswer {
  cap_percent: number;
  triggers: number;
  first_trigger_at: string | null;
  trades_missed: number;
  equity_at_first_trigger: number | null;
}

/**
 * The what-if replay end to end (docs/history.md): the fake bridge drives the account's equity
 * down 6 %, back, then down 12 %, while the real cap (50 %) never triggers; signals arrive before
 * and after the first dip. The replay over the window says what caps of 5, 10 and 20 % would have
 * done: 5 % triggers at the first dip and latches (no real resume) so the later signals are
 * missed; 10 % triggers only at the second dip; 20 % never.
 */
describe('what-if over an equity path the fake bridge drives', () => {
  let bridge: FakeMt5Bridge;
  let t: TestApp;

  beforeEach(async () => {
    bridge = await startFakeMt5Bridge({ balance: 10_000 });
    t = await startTestApp({
      ...bridge.serviceEnv(),
      MT5_TIMEOUT_MS: '300',
      SIGNALS_HMAC_SECRET: SECRET,
      EQUITY_CHECK_INTERVAL_MS: '100',
      DRAWDOWN_CAP_PERCENT: '50',
    });
  });
  afterEach(async () => {
    await t?.close();
    await bridge.close();
  });

  const equityRead = (equity: number) =>
    t.waitForEvent('equity_sample', (e) => e.payload.equity === equity, 5_000);

  it('answers per cap the triggers, the first trigger and the trades missed, beside the real figures', async () => {
    const from = new Date(Date.now() - 1_000).toISOString();
    await equityRead(10_000);
    const before = signalBody({ instrument: 'EURUSD', volume: 0.01 });
    expect((await postSignal(t.baseUrl, SECRET, before)).status).toBe(202);
    await t.waitForEvent('trade_executed', (e) => e.payload.signal_id === before.id);

    bridge.setEquity(9_400); // 6 %
    await equityRead(9_400);
    const during = [
      signalBody({ instrument: 'EURUSD', volume: 0.01 }),
      signalBody({ instrument: 'EURUSD', volume: 0.01 }),
    ];
    for (const body of during) expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    bridge.setEquity(10_000);
    await equityRead(10_000);
    bridge.setEquity(8_800); // 12 %
    await equityRead(8_800);
    bridge.setEquity(10_000);
    await equityRead(10_000);

    // History is written behind the signal path (about once a second): ask until it has the path.
    const answer = await waitUntil(
      async () => {
        const { status, body } = await t.admin(
          'GET',
          `/api/v1/accounts/default/analytics/what-if?caps=5,10,20&baseline=start&from=${from}`,
        );
        const caps = (body as { caps?: CapAnswer[] }).caps ?? [];
        return status === 200 && caps.find((c) => c.cap_percent === 10)?.triggers === 1
          ? (body as {
              caps: CapAnswer[];
              worst_drawdown_percent: number;
              real_triggers: number;
              signals: number;
            })
          : undefined;
      },
      { what: 'the what-if replay to see the whole path', timeoutMs: 10_000, intervalMs: 200 },
    );
    const byCap = new Map(answer.caps.map((c) => [c.cap_percent, c]));
    expect(byCap.get(5)).toMatchObject({ triggers: 1, equity_at_first_trigger: 9_400, trades_missed: 2 });
    expect(byCap.get(5)?.first_trigger_at).not.toBeNull();
    expect(byCap.get(10)).toMatchObject({ triggers: 1, equity_at_first_trigger: 8_800, trades_missed: 0 });
    expect(byCap.get(20)).toEqual({
      cap_percent: 20,
      triggers: 0,
      first_trigger_at: null,
      trades_missed: 0,
      equity_at_first_trigger: null,
    });
    expect(answer.worst_drawdown_percent).toBe(12);
    expect(answer.real_triggers).toBe(0);
    expect(answer.signals).toBe(3);
  }, 60_000);
});
