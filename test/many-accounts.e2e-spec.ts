import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeBridgeHost, type FakeBridgeHost } from './fakes/fake-bridge-host';
import type { FakeBridgeAccount } from './fakes/fake-bridge-account';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

const SECRET = 'inbox-secret-for-many-accounts';

/**
 * Several paper and bridge accounts in one process (docs/accounts.md): fan-out by channel and by
 * explicit accounts, sizing per account, duplicates across the fan-out, halted accounts, and a cap
 * trigger that closes and halts only its own account.
 */
describe('many accounts in one process', () => {
  let host: FakeBridgeHost;
  let gold: FakeBridgeAccount;
  let fx: FakeBridgeAccount;
  let t: TestApp;

  beforeEach(async () => {
    host = await startFakeBridgeHost({ accountDefaults: { balance: 10_000, price: 2000 } });
    gold = host.addAccount('t-gold');
    fx = host.addAccount('t-fx');
    gold.setSymbol('XAUUSD', {
      digits: 2,
      contract_size: 100,
      tick_size: 0.01,
      tick_value: 1,
      volume_max: 50,
      bid: 2000,
      ask: 2000,
    });
    const dir = await mkdtemp(join(tmpdir(), 'accounts-'));
    const file = join(dir, 'accounts.yaml');
    await writeFile(
      file,
      [
        'defaults:',
        '  drawdown_cap_percent: 20',
        'accounts:',
        '  - id: alice-01',
        '    gateway: paper',
        '    paper: { balance: 10000 }',
        '    channels: [default, fx]',
        '  - id: alice-02',
        '    gateway: paper',
        '    paper: { balance: 20000 }',
        '    channels: [fx]',
        '    sizing: { mode: multiplier, value: 2.5 }',
        '  - id: bob-gold',
        '    gateway: http',
        `    bridge: { url: "${gold.url}", key_id: "${gold.keyId}", secret_env: GOLD_SECRET }`,
        '    channels: [gold]',
        '    sizing: { mode: risk_percent, value: 1 }',
        '    drawdown_cap_percent: 10',
        '  - id: carol-fx',
        '    gateway: http',
        `    bridge: { url: "${fx.url}", key_id: "${fx.keyId}", secret_env: FX_SECRET }`,
        '    channels: [fx, gold]',
        '    sizing: { mode: fixed, value: 0.3 }',
        '    max_volume: 0.2',
        '',
      ].join('\n'),
    );
    t = await startTestApp({
      ACCOUNTS_FILE: file,
      SIGNALS_HMAC_SECRET: SECRET,
      GOLD_SECRET: gold.secret,
      FX_SECRET: fx.secret,
      EQUITY_CHECK_INTERVAL_MS: '100',
      DRAWDOWN_CONFIRM_READS: '1',
    });
  });

  afterEach(async () => {
    await t?.close();
    await host?.close();
  });

  const executedOn = (signalId: string) =>
    t
      .eventsOf('trade_executed')
      .filter((e) => e.payload.signal_id === signalId)
      .map((e) => ({ account: e.account_id, volume: e.payload.volume }))
      .sort((a, b) => (a.account ?? '').localeCompare(b.account ?? ''));

  it('sends a channel signal to exactly the subscribed accounts, each with its own lots', async () => {
    const body = signalBody({ channel: 'fx', instrument: 'EURUSD', volume: 0.1 });
    const posted = await postSignal(t.baseUrl, SECRET, body);
    expect(posted).toEqual({ status: 202, body: { id: body.id, status: 'accepted', accounts: 3 } });
    await t.waitForEventCount('trade_executed', 3, (e) => e.payload.signal_id === body.id);
    expect(executedOn(body.id as string)).toEqual([
      { account: 'alice-01', volume: 0.1 }, // multiplier 1
      { account: 'alice-02', volume: 0.25 }, // multiplier 2.5
      { account: 'carol-fx', volume: 0.2 }, // fixed 0.3, capped at max_volume 0.2
    ]);
    // bob-gold does not listen on fx: its bridge never heard of the signal.
    expect(gold.requestsTo('POST', '/v1/orders')).toHaveLength(0);
    expect(fx.fillLog).toHaveLength(1);
  });

  it('sizes risk_percent from the sl, the equity and the symbol the bridge describes', async () => {
    // 1 % of 10,000 = 100 USD at risk; 2000 -> 1990 is 1,000 ticks of 1 USD a lot: 0.1 lot.
    const body = signalBody({ channel: 'gold', instrument: 'XAUUSD', volume: 1, sl: 1990 });
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    await t.waitForEventCount('trade_executed', 2, (e) => e.payload.signal_id === body.id);
    expect(executedOn(body.id as string)).toEqual([
      { account: 'bob-gold', volume: 0.1 },
      { account: 'carol-fx', volume: 0.2 },
    ]);
    // Without sl, risk sizing fails on that account only, with its reason.
    const noSl = signalBody({ channel: 'gold', instrument: 'XAUUSD', volume: 1 });
    expect((await postSignal(t.baseUrl, SECRET, noSl)).body).toMatchObject({ accounts: 2 });
    const failed = await t.waitForEvent('trade_failed', (e) => e.payload.signal_id === noSl.id);
    expect(failed).toMatchObject({ account_id: 'bob-gold', payload: { reason: 'sizing_needs_sl' } });
    await t.waitForEvent(
      'trade_executed',
      (e) => e.payload.signal_id === noSl.id && e.account_id === 'carol-fx',
    );
  });

  it('targets explicit accounts, refuses unknown ones naming them, and refuses channel and accounts together', async () => {
    const body = signalBody({
      accounts: ['alice-02', 'bob-gold'],
      instrument: 'XAUUSD',
      volume: 0.1,
      sl: 1990,
    });
    expect((await postSignal(t.baseUrl, SECRET, body)).body).toMatchObject({ accounts: 2 });
    await t.waitForEventCount('trade_executed', 2, (e) => e.payload.signal_id === body.id);
    expect(executedOn(body.id as string).map((e) => e.account)).toEqual(['alice-02', 'bob-gold']);

    const unknown = await postSignal(
      t.baseUrl,
      SECRET,
      signalBody({ accounts: ['alice-01', 'nobody', 'ghost'] }),
    );
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('nobody, ghost');
    const both = await postSignal(t.baseUrl, SECRET, signalBody({ accounts: ['alice-01'], channel: 'fx' }));
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ errors: [{ field: 'accounts' }] });
    const nobody = await postSignal(t.baseUrl, SECRET, signalBody({ channel: 'empty-channel' }));
    expect(nobody).toEqual({ status: 422, body: { status: 'refused', reason: 'no_target_accounts' } });
  });

  it('answers a repeated signal id as duplicate and trades nothing twice anywhere', async () => {
    const body = signalBody({ channel: 'fx' });
    expect((await postSignal(t.baseUrl, SECRET, body)).status).toBe(202);
    const again = await Promise.all([1, 2, 3].map(() => postSignal(t.baseUrl, SECRET, body)));
    expect(again.map((a) => a.status)).toEqual([200, 200, 200]);
    await t.waitForEventCount('trade_executed', 3, (e) => e.payload.signal_id === body.id);
    // Same id again on another target: still a duplicate (the id is the signal's, whatever its accounts).
    expect((await postSignal(t.baseUrl, SECRET, { ...body, channel: 'gold' })).status).toBe(200);
    await t.waitForRecordedOutcomes();
    expect(t.eventsOf('trade_executed').filter((e) => e.payload.signal_id === body.id)).toHaveLength(3);
    expect(fx.fillLog).toHaveLength(1);
  });

  it('a cap trigger on one account closes and halts that account only; the others trade on', async () => {
    // Both bridge accounts hold a position; bob-gold's equity falls 15 % (its cap is 10 %).
    const open = signalBody({
      accounts: ['bob-gold', 'carol-fx'],
      instrument: 'XAUUSD',
      volume: 0.1,
      sl: 1990,
    });
    await postSignal(t.baseUrl, SECRET, open);
    await t.waitForEventCount('trade_executed', 2, (e) => e.payload.signal_id === open.id);
    gold.setEquity(8_500);
    const trigger = await t.waitForEvent('drawdown_cap_triggered', (e) => e.account_id === 'bob-gold');
    expect(trigger.payload.cap).toBe('total');
    await waitUntil(() => gold.positions().length === 0, { what: "bob-gold's positions closed" });
    expect(fx.positions()).toHaveLength(1);

    const listed = await t.admin('GET', '/api/v1/accounts?state=halted');
    expect(listed.body.accounts.map((a: { id: string }) => a.id)).toEqual(['bob-gold']);
    expect((await t.admin('GET', '/api/v1/accounts/carol-fx/status')).body).toMatchObject({
      state: 'running',
    });

    // A signal to both: carol trades it, bob records it rejected (halted).
    const next = signalBody({ channel: 'gold', instrument: 'XAUUSD', volume: 0.1, sl: 1990 });
    expect((await postSignal(t.baseUrl, SECRET, next)).body).toMatchObject({
      status: 'accepted',
      accounts: 1,
    });
    await t.waitForEvent(
      'trade_executed',
      (e) => e.payload.signal_id === next.id && e.account_id === 'carol-fx',
    );
    expect(t.eventsOf('signal_rejected').find((e) => e.payload.signal_id === next.id)).toMatchObject({
      account_id: 'bob-gold',
      payload: { reason: 'halted' },
    });
    // Every target halted: 423.
    const onlyBob = signalBody({ accounts: ['bob-gold'], instrument: 'XAUUSD', volume: 0.1, sl: 1990 });
    expect((await postSignal(t.baseUrl, SECRET, onlyBob)).status).toBe(423);
  });

  it('the platform kill switch halts every account; its resume lifts only what it latched', async () => {
    gold.setEquity(8_500); // bob-gold trips its own cap first
    await t.waitForEvent('drawdown_cap_triggered', (e) => e.account_id === 'bob-gold');
    const halted = await t.admin('POST', '/api/v1/halt', { reason: 'platform incident', scope: 'all' });
    expect(halted.status).toBe(200);
    expect(halted.body).toMatchObject({
      scope: 'all',
      accounts: 4,
      newly_halted: 3,
      already_halted: ['bob-gold'],
    });
    expect((await t.admin('GET', '/api/v1/accounts?state=halted')).body.accounts).toHaveLength(4);

    gold.setEquity(undefined);
    const resumed = await t.admin('POST', '/api/v1/resume', {
      reviewed_by: 'ops',
      note: 'incident over',
      scope: 'all',
    });
    expect(resumed.status).toBe(200);
    expect(resumed.body.resumed.sort()).toEqual(['alice-01', 'alice-02', 'carol-fx']);
    // The cap trigger needs its own review.
    expect(resumed.body.still_halted).toEqual(['bob-gold']);
    const own = await t.admin('POST', '/api/v1/accounts/bob-gold/resume', {
      reviewed_by: 'ops',
      note: 'reviewed',
    });
    expect(own).toMatchObject({ status: 200, body: { account_id: 'bob-gold', state: 'running' } });
  });

  it('answers the single-account routes with 409 several_accounts, and the account routes for each', async () => {
    for (const path of ['/api/v1/status', '/api/v1/positions', '/api/v1/analytics', '/api/v1/events'])
      expect(await t.admin('GET', path)).toMatchObject({ status: 409, body: { reason: 'several_accounts' } });
    expect((await t.admin('POST', '/api/v1/halt', { reason: 'x' })).status).toBe(409);
    expect((await t.admin('GET', '/api/v1/accounts/nobody/status')).status).toBe(404);
    const page1 = await t.admin('GET', '/api/v1/accounts?limit=3');
    expect(page1.body.accounts.map((a: { id: string }) => a.id)).toEqual([
      'alice-01',
      'alice-02',
      'bob-gold',
    ]);
    expect(page1.body.accounts[0]).toMatchObject({ state: 'running', gateway: 'paper', cap_percent: 20 });
    const page2 = await t.admin('GET', `/api/v1/accounts?limit=3&cursor=${page1.body.next_cursor as string}`);
    expect(page2.body).toEqual({
      accounts: [expect.objectContaining({ id: 'carol-fx', gateway: 'http' })],
      next_cursor: null,
    });
    for (const path of ['status', 'positions', 'analytics', 'events'])
      expect((await t.admin('GET', `/api/v1/accounts/alice-02/${path}`)).status).toBe(200);
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^trading_accounts\{state="running",loop_id="test-loop"\} 4$/m);
    expect(metrics).toMatch(/^trading_drawdown_cap_percent\{account="bob-gold",loop_id="test-loop"\} 10$/m);
  });
});
