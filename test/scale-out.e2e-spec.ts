import { Pool } from 'pg';
import { openRequestId } from '@app/core';
import {
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '@app/state/postgres/testing/throwaway-postgres';
import { startFakeBridgeHost, type FakeBridgeHost } from './fakes/fake-bridge-host';
import type { FakeBridgeAccount } from './fakes/fake-bridge-account';
import { writeBridgeAccountsFile } from './support/bridge-accounts-file';
import { ServiceProcess, type LogLine } from './support/service-process';
import { postSignal, signalBody } from './support/signed-request';
import { heldAccounts } from './support/held-accounts';
import { waitUntil } from './support/wait-until';

/**
 * Several processes on one PostgreSQL (docs/scale-out.md): each account has one owner at a time,
 * a signal posted to any process trades once on every target account, a killed owner's accounts
 * trade again on the others, and a paused owner that lost its leases places no order (its own
 * lease check, and the bridge's fencing token, refuse it).
 */

const SECRET = 'inbox-secret-for-scale-out-e2e';
const ADMIN = 'admin-token-for-scale-out-e2e';
const CHANNEL = 'so';
const IDS = ['so-1', 'so-2', 'so-3', 'so-4'];
const LEASE_TTL_MS = 3_000;
const LEASE_RENEW_MS = 500;

describe('scale-out: several processes on one PostgreSQL', () => {
  let db: ThrowawayPostgres;
  let host: FakeBridgeHost;
  let bridges: Map<string, FakeBridgeAccount>;
  let accountsEnv: Record<string, string>;
  let databaseUrl: string;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    ServiceProcess.buildOnce();
    db = await startThrowawayPostgres();
  }, 120_000);

  afterAll(async () => {
    await db?.stop();
  });

  beforeEach(async () => {
    databaseUrl = await db.newDatabase();
    host = await startFakeBridgeHost({ accountDefaults: { balance: 10_000, price: 1.1 } });
    bridges = new Map(IDS.map((id, i) => [id, host.addAccount(`t${i + 1}`)]));
    const file = await writeBridgeAccountsFile(
      IDS.map((id) => ({ id, bridge: bridges.get(id) as FakeBridgeAccount })),
      { channels: [CHANNEL] },
    );
    accountsEnv = file.env;
  });

  afterEach(async () => {
    extraEnv = {};
    for (const p of processes.splice(0)) {
      p.kill('SIGCONT');
      await p.stop();
    }
    for (const b of bridges?.values() ?? []) b.release();
    await host?.close();
  });

  /** Environment both processes get beyond the accounts file (the secret of an account added at run time). */
  let extraEnv: Record<string, string> = {};

  const start = async (name: string): Promise<ServiceProcess> => {
    const p = await ServiceProcess.start({
      ...accountsEnv,
      STATE_BACKEND: 'postgres',
      DATABASE_URL: databaseUrl,
      LEASE_TTL_MS: String(LEASE_TTL_MS),
      LEASE_RENEW_MS: String(LEASE_RENEW_MS),
      LOOP_ID: name,
      ADMIN_TOKEN: ADMIN,
      SIGNALS_HMAC_SECRET: SECRET,
      EQUITY_CHECK_INTERVAL_MS: '200',
      HEARTBEAT_INTERVAL_MS: '500',
      HEARTBEAT_STALE_AFTER_MS: '5000',
      MT5_TIMEOUT_MS: '1000',
      ...extraEnv,
    });
    processes.push(p);
    await p.waitUntilReady(30_000);
    return p;
  };

  const owners = (procs: readonly ServiceProcess[]): Map<string, ServiceProcess[]> => {
    const owned = new Map<string, ServiceProcess[]>(IDS.map((id) => [id, []]));
    for (const p of procs) for (const id of heldAccounts(p).keys()) owned.get(id)?.push(p);
    return owned;
  };

  /** An admin call (bearer token) to one process: its status and JSON body. */
  const admin = (p: ServiceProcess, method: string, path: string, body?: object) =>
    fetch(`${p.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  /** Both processes own accounts, and every account has exactly one owner. */
  const split = (a: ServiceProcess, b: ServiceProcess) =>
    waitUntil(
      () => {
        const owned = owners([a, b]);
        return (
          IDS.every((id) => owned.get(id)?.length === 1) &&
          [a, b].every((p) => [...owned.values()].some((o) => o[0] === p))
        );
      },
      { what: 'both processes own some accounts, each account exactly one owner', timeoutMs: 15_000 },
    );

  const filledOnce = async (signalId: string, accounts: readonly string[], timeoutMs = 15_000) => {
    const requestId = openRequestId(signalId);
    await waitUntil(() => accounts.every((id) => bridges.get(id)?.storedResult(requestId)), {
      what: `signal ${signalId} filled on ${accounts.join(', ')}`,
      timeoutMs,
    });
    for (const id of accounts)
      expect(bridges.get(id)?.fillLog.filter((f) => f.request_id === requestId)).toHaveLength(1);
  };

  it('splits the accounts, and a signal posted to either process trades once on every account', async () => {
    const a = await start('proc-a');
    const b = await start('proc-b');
    await waitUntil(
      () => {
        const owned = owners([a, b]);
        return (
          IDS.every((id) => owned.get(id)?.length === 1) &&
          [a, b].every((p) => [...owned.values()].some((o) => o[0] === p))
        );
      },
      {
        what: 'both processes own some accounts, each account exactly one owner',
        timeoutMs: 15_000,
        detail: () =>
          JSON.stringify(
            [a, b].map((p) =>
              p.lines.filter((l) => /owner|lease|ownership/i.test(JSON.stringify(l))).slice(-6),
            ),
          ),
      },
    );
    for (const [target, sent] of [
      [a, 'to a'],
      [b, 'to b'],
    ] as const) {
      const body = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
      const answer = await postSignal(target.baseUrl, SECRET, body);
      expect({ sent, answer }).toEqual({
        sent,
        answer: { status: 202, body: { id: body.id, status: 'accepted', accounts: IDS.length } },
      });
      await filledOnce(body.id as string, IDS);
      // The same id at the other process: a duplicate, whichever process sees it.
      const other = target === a ? b : a;
      expect((await postSignal(other.baseUrl, SECRET, body)).body).toMatchObject({ status: 'duplicate' });
    }
    // Every order carried its account's epoch.
    for (const id of IDS)
      expect(
        bridges
          .get(id)
          ?.requestsTo('POST', '/v1/orders')
          .every((r) => Number(r.fencingToken) >= 1),
      ).toBe(true);
  }, 90_000);

  it('kill -9 of an owner: its accounts trade again on the other, at a higher epoch', async () => {
    const a = await start('proc-a');
    const b = await start('proc-b');
    await split(a, b);
    const victimAccounts = IDS.filter((id) => owners([a]).get(id)?.length === 1);
    expect(victimAccounts.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    a.kill('SIGKILL');
    await a.exited();
    await b.waitForLine(
      (line: LogLine) => line.type === 'ownership_gained' && victimAccounts.includes(String(line.account_id)),
      LEASE_TTL_MS * 4,
    );
    await waitUntil(() => victimAccounts.every((id) => owners([b]).get(id)?.length === 1), {
      what: `proc-b owns ${victimAccounts.join(', ')}`,
      timeoutMs: LEASE_TTL_MS * 4,
    });
    const takeoverMs = Date.now() - killedAt;
    const body = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
    expect((await postSignal(b.baseUrl, SECRET, body)).status).toBe(202);
    await filledOnce(body.id as string, IDS);
    const epochs = b.lines
      .filter((l) => l.type === 'ownership_gained' && victimAccounts.includes(String(l.account_id)))
      .map((l) => Number(l.epoch));
    expect(epochs.every((e) => e >= 2)).toBe(true);
    console.log(
      `scale-out: kill -9 of an owner; its ${victimAccounts.length} accounts taken over after ${takeoverMs} ms`,
    );
  }, 90_000);

  it('SIGTERM hands the accounts over: the other process owns them within 2 s of the exit, and trades them', async () => {
    const a = await start('proc-a');
    const b = await start('proc-b');
    await split(a, b);
    const moving = IDS.filter((id) => owners([a]).get(id)?.length === 1);
    a.kill('SIGTERM');
    const exit = await a.exited();
    const exitedAt = Date.now();
    expect(exit.code).toBe(0);
    expect(a.lines.some((l) => l.msg === 'ownership_handed_over')).toBe(true);
    await waitUntil(() => moving.every((id) => owners([b]).get(id)?.length === 1), {
      what: `proc-b owns ${moving.join(', ')} after the hand-over`,
      timeoutMs: 10_000,
    });
    const handOverMs = Date.now() - exitedAt;
    expect(handOverMs).toBeLessThan(2_000);
    const body = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
    expect((await postSignal(b.baseUrl, SECRET, body)).status).toBe(202);
    await filledOnce(body.id as string, IDS);
    console.log(
      `scale-out: SIGTERM hand-over of ${moving.length} accounts, owned by the other ${handOverMs} ms after the exit`,
    );
  }, 90_000);

  it('any process answers: a halt and a resume of an account another process owns, and the platform kill switch', async () => {
    const a = await start('proc-a');
    const b = await start('proc-b');
    await split(a, b);
    const ofA = IDS.find((id) => owners([a]).get(id)?.length === 1) as string;
    // Asked on b, carried out by a (the owner), answered with a's outcome.
    const halted = await admin(b, 'POST', `/api/v1/accounts/${ofA}/halt`, {
      reason: 'asked on b',
      by: 'ops',
    });
    expect(halted).toEqual({
      status: 200,
      body: expect.objectContaining({ account_id: ofA, state: 'halted', already_halted: false }),
    });
    expect((await admin(a, 'GET', `/api/v1/accounts/${ofA}/status`)).body.account_state).toBe('halted');
    // Reads need the owner: b names it.
    const read = await admin(b, 'GET', `/api/v1/accounts/${ofA}/status`);
    expect(read.status).toBe(409);
    expect(read.body).toMatchObject({ reason: 'owned_elsewhere', owner: expect.stringMatching(/^proc-a\//) });
    const resumed = await admin(b, 'POST', `/api/v1/accounts/${ofA}/resume`, { reviewed_by: 'ops' });
    expect(resumed.body).toMatchObject({ account_id: ofA, resumed: true, state: 'running' });
    expect((await admin(a, 'GET', `/api/v1/accounts/${ofA}/status`)).body.account_state).toBe('running');

    // The platform kill switch on one process halts every account, whoever owns it.
    const all = await admin(a, 'POST', '/api/v1/halt', { scope: 'all', reason: 'platform', by: 'ops' });
    expect(all.body).toMatchObject({
      scope: 'all',
      accounts: IDS.length,
      newly_halted: IDS.length,
      requested: [],
    });
    // 423 once b's intake has read the latches (it reads them every second), 202 before: either
    // way every account records the signal as rejected (halted), below.
    const body = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
    expect([202, 423]).toContain((await postSignal(b.baseUrl, SECRET, body)).status);
    const bulk = await admin(b, 'POST', '/api/v1/resume', { scope: 'all', reviewed_by: 'ops' });
    expect(bulk.body).toMatchObject({ scope: 'all', failed: [], still_halted: [], requested: [] });
    expect(new Set(bulk.body.resumed as string[])).toEqual(new Set(IDS));
    // The signal that came in while everything was halted is never sent, even after the resume.
    const pool = new Pool({ connectionString: databaseUrl });
    try {
      await waitUntil(
        async () =>
          (
            await pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM signal_work WHERE signal_id = $1 AND status = 'rejected' AND reason = 'halted'`,
              [body.id],
            )
          ).rows[0]?.n === IDS.length,
        { what: 'the signal rejected as halted on every account', timeoutMs: 10_000, intervalMs: 100 },
      );
    } finally {
      await pool.end();
    }
    for (const id of IDS)
      expect(
        bridges
          .get(id)
          ?.requestsTo('POST', '/v1/orders')
          .some((r) => r.idempotencyKey === openRequestId(body.id as string)),
      ).toBe(false);
  }, 90_000);

  it('the accounts API: an account put on one process is traded within 5 s; a changed one follows its new settings; only a flat one is deleted', async () => {
    const newTerminal = host.addAccount('t-new');
    extraEnv = { NEW_BRIDGE_SECRET: newTerminal.secret };
    const a = await start('proc-a');
    const b = await start('proc-b');
    await split(a, b);
    const extra = newTerminal;
    // An inline secret is refused (never stored); one named by a variable every process has is taken.
    const inline = await admin(a, 'PUT', '/api/v1/accounts/so-new', {
      gateway: 'http',
      bridge: { url: extra.url, key_id: extra.keyId, secret: extra.secret },
      channels: [CHANNEL],
    });
    expect(inline.status).toBe(400);
    expect(JSON.stringify(inline.body)).not.toContain(extra.secret);
    const created = await admin(a, 'PUT', '/api/v1/accounts/so-new', {
      gateway: 'http',
      bridge: { url: extra.url, key_id: extra.keyId, secret_env: 'NEW_BRIDGE_SECRET' },
      channels: [CHANNEL],
    });
    expect(created).toEqual({ status: 200, body: { account_id: 'so-new', status: 'created' } });
    const putAt = Date.now();
    await waitUntil(
      () =>
        [a, b].some((p) => p.lines.some((l) => l.type === 'ownership_gained' && l.account_id === 'so-new')),
      { what: 'so-new owned by a process within 5 s', timeoutMs: 5_000 },
    );
    const ownedAfterMs = Date.now() - putAt;
    const body = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
    expect((await postSignal(b.baseUrl, SECRET, body)).body).toMatchObject({ accounts: IDS.length + 1 });
    const requestId = openRequestId(body.id as string);
    await waitUntil(() => extra.storedResult(requestId), { what: 'so-new fills', timeoutMs: 10_000 });

    // Changed: off the channel. The next signal reaches the four others only.
    const changed = await admin(b, 'PUT', '/api/v1/accounts/so-new', {
      gateway: 'http',
      bridge: { url: extra.url, key_id: extra.keyId, secret_env: 'NEW_BRIDGE_SECRET' },
      channels: ['elsewhere'],
    });
    expect(changed.body).toEqual({ account_id: 'so-new', status: 'updated' });
    await waitUntil(
      async () =>
        (
          await postSignal(
            a.baseUrl,
            SECRET,
            signalBody({ channel: 'elsewhere', instrument: 'EURUSD', volume: 0.01 }),
          )
        ).status === 202,
      { what: 'both processes see so-new on its new channel', timeoutMs: 5_000, intervalMs: 250 },
    );

    // Not flat: refused. Flat (its position closed at its terminal): deleted, and gone everywhere.
    const refused = await admin(a, 'DELETE', '/api/v1/accounts/so-new');
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ reason: 'open_positions' });
    for (const position of extra.positions()) extra.closeWithoutRequest(position.ticket, 'client');
    const deleted = await admin(a, 'DELETE', '/api/v1/accounts/so-new');
    expect(deleted.body).toEqual({ account_id: 'so-new', status: 'deleted' });
    await waitUntil(
      async () =>
        (await admin(b, 'POST', '/api/v1/accounts/so-new/halt', { reason: 'gone?' })).status === 404,
      { what: 'so-new unknown to both processes', timeoutMs: 5_000, intervalMs: 250 },
    );
    console.log(`scale-out: an account put on one process was owned ${ownedAfterMs} ms later`);
  }, 90_000);

  it('a halted account stays halted when its owner dies: the new owner sends nothing for it', async () => {
    const a = await start('proc-a');
    const b = await start('proc-b');
    await split(a, b);
    const victim = IDS.find((id) => owners([a]).get(id)?.length === 1) as string;
    const halt = await fetch(`${a.baseUrl}/api/v1/accounts/${victim}/halt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'review before takeover' }),
    });
    expect(halt.status).toBe(200);
    a.kill('SIGKILL');
    await a.exited();
    await waitUntil(() => owners([b]).get(victim)?.length === 1, {
      what: `proc-b owns ${victim}`,
      timeoutMs: LEASE_TTL_MS * 4,
    });
    const status = await fetch(`${b.baseUrl}/api/v1/accounts/${victim}/status`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(((await status.json()) as { account_state?: string }).account_state).toBe('halted');
    const ordersBefore = bridges.get(victim)?.requestsTo('POST', '/v1/orders').length ?? 0;
    const body = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
    expect((await postSignal(b.baseUrl, SECRET, body)).status).toBe(202);
    const others = IDS.filter((id) => id !== victim);
    await filledOnce(body.id as string, others);
    // The halted account's owner takes the signal up and rejects it: nothing reaches its terminal.
    const pool = new Pool({ connectionString: databaseUrl });
    try {
      const ended = await waitUntil(
        async () => {
          const { rows } = await pool.query<{ status: string; reason: string | null }>(
            'SELECT status, reason FROM signal_work WHERE account_id = $1 AND signal_id = $2',
            [victim, body.id],
          );
          const row = rows[0];
          return row !== undefined && ['rejected', 'failed', 'executed'].includes(row.status)
            ? row
            : undefined;
        },
        { what: `the halted ${victim} ends the signal`, timeoutMs: 10_000, intervalMs: 100 },
      );
      expect(ended).toEqual({ status: 'rejected', reason: 'halted' });
    } finally {
      await pool.end();
    }
    expect(bridges.get(victim)?.requestsTo('POST', '/v1/orders').length ?? 0).toBe(ordersBefore);
  }, 90_000);

  it('SIGSTOP past the lease, then SIGCONT: the stale process places no order for the accounts it lost', async () => {
    const a = await start('proc-a');
    const b = await start('proc-b');
    await split(a, b);
    const paused = IDS.filter((id) => owners([a]).get(id)?.length === 1);
    expect(paused.length).toBeGreaterThan(0);
    // A signal accepted by `a` (committed) and then `a` freezes before it can trade it.
    a.kill('SIGSTOP');
    await waitUntil(() => paused.every((id) => owners([b]).get(id)?.length === 1), {
      what: `proc-b takes over ${paused.join(', ')} from the paused process`,
      timeoutMs: LEASE_TTL_MS * 5,
    });
    const body = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
    expect((await postSignal(b.baseUrl, SECRET, body)).status).toBe(202);
    await filledOnce(body.id as string, IDS);
    const ordersBefore = new Map(
      paused.map((id) => [id, bridges.get(id)?.requestsTo('POST', '/v1/orders').length ?? 0]),
    );
    a.kill('SIGCONT');
    // It wakes up, finds its leases gone, and says so; it sends nothing more for those accounts.
    await a.waitForLine(
      (line) => line.type === 'ownership_lost' && paused.includes(String(line.account_id)),
      LEASE_TTL_MS * 4,
    );
    // Its metrics say what happened (docs/scale-out.md, Health and metrics).
    const metrics = await (await fetch(`${a.baseUrl}/metrics`)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(metrics)?.[1]);
    expect(value('trading_ownership_lost_total')).toBeGreaterThanOrEqual(paused.length);
    expect(metrics).toMatch(/^trading_accounts_owned\{[^}]*\} \d+/m);
    expect(metrics).toMatch(/^trading_fenced_writes_total\{[^}]*where="bridge"[^}]*\} \d+/m);
    const again = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
    expect((await postSignal(a.baseUrl, SECRET, again)).status).toBe(202);
    await filledOnce(again.id as string, IDS);
    for (const id of paused) {
      const orders = bridges.get(id)?.requestsTo('POST', '/v1/orders') ?? [];
      // Every order after the resume carried the new owner's epoch (none was fenced: none was sent by `a`).
      expect(orders.slice(ordersBefore.get(id)).every((r) => !r.fenced)).toBe(true);
      expect(new Set(bridges.get(id)?.fillLog.map((f) => f.request_id)).size).toBe(
        bridges.get(id)?.fillLog.length,
      );
    }
  }, 120_000);
});
