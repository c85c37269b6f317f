import { Pool } from 'pg';
import { openRequestId } from '@app/core';
import {
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '@app/state/postgres/testing/throwaway-postgres';
import { startFakeBridgeHost, type FakeBridgeHost } from './fakes/fake-bridge-host';
import type { BridgeRequestRecord, FakeBridgeAccount } from './fakes/fake-bridge-account';
import { writeBridgeAccountsFile } from './support/bridge-accounts-file';
import { ServiceProcess, type LogLine } from './support/service-process';
import { postSignal, signalBody } from './support/signed-request';
import { TcpProxy, type CutMode } from './support/tcp-proxy';
import { heldAccounts } from './support/held-accounts';
import { waitUntil } from './support/wait-until';

/**
 * A process cut off from the database while its bridges stay reachable (docs/scale-out.md,
 * Ownership and Health): it stops opening positions within LEASE_TTL_MS, refuses signals it
 * cannot commit, fails readiness but not liveness; the other process takes its accounts over and
 * trades them; once the network heals it becomes ready again, owns accounts again at higher
 * epochs and trades them. Process A reaches PostgreSQL through a TCP proxy the test cuts, B
 * directly.
 */

const SECRET = 'inbox-secret-for-db-cut-e2e';
const ADMIN = 'admin-token-for-db-cut-e2e';
const CHANNEL = 'cut';
const IDS = ['cut-1', 'cut-2', 'cut-3', 'cut-4'];
const LEASE_TTL_MS = 3_000;
const LEASE_RENEW_MS = 500;

/** When a log line was written (pino's ISO time, on the machine's clock the test shares). */
const loggedAt = (line: LogLine): number => Date.parse(String(line.time));
/** When the fake bridge read a request, on the same wall clock as `loggedAt`. */
const receivedAt = (request: BridgeRequestRecord): number => performance.timeOrigin + request.receivedAt;

describe('scale-out: the database cut off from one process (a TCP proxy the test controls)', () => {
  let db: ThrowawayPostgres;
  let host: FakeBridgeHost;
  let bridges: Map<string, FakeBridgeAccount>;
  let accountsEnv: Record<string, string>;
  let databaseUrl: string;
  let proxy: TcpProxy | undefined;
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
    const url = new URL(databaseUrl);
    proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port) });
    host = await startFakeBridgeHost({ accountDefaults: { balance: 10_000, price: 1.1 } });
    bridges = new Map(IDS.map((id, i) => [id, host.addAccount(`c${i + 1}`)]));
    const file = await writeBridgeAccountsFile(
      IDS.map((id) => ({ id, bridge: bridges.get(id) as FakeBridgeAccount })),
      { channels: [CHANNEL] },
    );
    accountsEnv = file.env;
  });

  afterEach(async () => {
    for (const p of processes.splice(0)) await p.stop();
    await proxy?.close();
    for (const b of bridges?.values() ?? []) b.release();
    await host?.close();
  });

  const start = async (name: string, url: string): Promise<ServiceProcess> => {
    const p = await ServiceProcess.start({
      ...accountsEnv,
      STATE_BACKEND: 'postgres',
      DATABASE_URL: url,
      LEASE_TTL_MS: String(LEASE_TTL_MS),
      LEASE_RENEW_MS: String(LEASE_RENEW_MS),
      LOOP_ID: name,
      ADMIN_TOKEN: ADMIN,
      SIGNALS_HMAC_SECRET: SECRET,
      EQUITY_CHECK_INTERVAL_MS: '200',
      HEARTBEAT_INTERVAL_MS: '500',
      HEARTBEAT_STALE_AFTER_MS: '5000',
      MT5_TIMEOUT_MS: '1000',
    });
    processes.push(p);
    await p.waitUntilReady(30_000);
    return p;
  };

  /** What each process holds now by its log, with the epoch it holds the account at. */

  const status = async (p: ServiceProcess, path: string): Promise<number> =>
    (await fetch(`${p.baseUrl}${path}`, { signal: AbortSignal.timeout(5_000) })).status;

  const orders = (id: string): BridgeRequestRecord[] =>
    bridges.get(id)?.requestsTo('POST', '/v1/orders') ?? [];

  const filledOnce = async (signalId: string, timeoutMs = 20_000) => {
    const requestId = openRequestId(signalId);
    await waitUntil(() => IDS.every((id) => bridges.get(id)?.storedResult(requestId)), {
      what: `signal ${signalId} filled on every account`,
      timeoutMs,
    });
    for (const id of IDS)
      expect({
        id,
        fills: bridges.get(id)?.fillLog.filter((f) => f.request_id === requestId).length,
      }).toEqual({
        id,
        fills: 1,
      });
  };

  /** The epoch each account's order for this signal carried. */
  const tokensOf = (signalId: string): Map<string, number> =>
    new Map(
      IDS.map((id) => [
        id,
        Number(orders(id).find((r) => r.idempotencyKey === openRequestId(signalId))?.fencingToken),
      ]),
    );

  it.each<[CutMode, string]>([
    ['blackhole', 'connections dropped, new ones accepted and never answered: a partition'],
    ['refuse', 'connections dropped, new ones closed at once: the database host down'],
  ])(
    'cut (%s: %s): the cut process loses its accounts within LEASE_TTL_MS, refuses signals and readiness, the other trades; after the heal it rejoins',
    async (mode) => {
      const proxied = proxy as TcpProxy;
      const a = await start('proc-a', proxied.urlThrough(databaseUrl));
      const b = await start('proc-b', databaseUrl);
      await waitUntil(
        () => {
          const [ofA, ofB] = [heldAccounts(a), heldAccounts(b)];
          return (
            ofA.size > 0 && ofB.size > 0 && IDS.every((id) => Number(ofA.has(id)) + Number(ofB.has(id)) === 1)
          );
        },
        { what: 'both processes own some accounts, each account exactly one owner', timeoutMs: 20_000 },
      );
      const ofA = heldAccounts(a);
      const cutAccounts = [...ofA.keys()];

      // Before the cut both trade: A's orders carry A's epochs (so the checks below can tell them apart).
      const warmUp = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
      expect((await postSignal(b.baseUrl, SECRET, warmUp)).status).toBe(202);
      await filledOnce(warmUp.id as string);
      const warmTokens = tokensOf(warmUp.id as string);
      for (const id of cutAccounts)
        expect({ id, token: warmTokens.get(id) }).toEqual({ id, token: ofA.get(id) });

      const linesBeforeCut = a.lines.length;
      const cutAt = Date.now();
      proxied.cut(mode);

      const lossLines = () =>
        a.lines
          .slice(linesBeforeCut)
          .filter((l) => l.type === 'ownership_lost' && cutAccounts.includes(String(l.account_id)));
      const lost = waitUntil(
        () => {
          const lines = lossLines();
          return cutAccounts.every((id) => lines.some((l) => l.account_id === id)) ? lines : undefined;
        },
        {
          what: `proc-a says it lost ${cutAccounts.join(', ')}`,
          timeoutMs: LEASE_TTL_MS * 3,
          detail: () => a.rawStdout.slice(-15).join('\n'),
        },
      );
      // Awaited below: marked handled now so that a timeout meanwhile is reported there, not as unhandled.
      lost.catch(() => undefined);

      // Readiness fails while the database does not answer; liveness does not.
      await waitUntil(async () => (await status(a, '/health/ready')) === 503, {
        what: "proc-a's readiness to fail",
        timeoutMs: 5_000,
        intervalMs: 100,
      });
      expect(await status(a, '/health/live')).toBe(200);

      // A signal to the cut process cannot be committed: refused (the sender may retry elsewhere).
      const refused = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
      const postedAt = Date.now();
      const refusedAnswer = await postSignal(a.baseUrl, SECRET, refused);
      const refusalMs = Date.now() - postedAt;
      expect(refusedAnswer).toEqual({
        status: 503,
        body: expect.objectContaining({ status: 'refused', reason: 'state_unavailable' }),
      });

      const lossLinesSeen = await lost;
      for (const line of lossLinesSeen) expect(['database_unreachable', 'expired']).toContain(line.why);
      const lastLossAt = Math.max(
        ...cutAccounts.map((id) =>
          Math.min(...lossLinesSeen.filter((l) => l.account_id === id).map(loggedAt)),
        ),
      );
      const lossMs = lastLossAt - cutAt;
      expect(lossMs).toBeLessThanOrEqual(LEASE_TTL_MS);

      // After the loss, a signal to B trades once on every account, A's by B once it took them over.
      const afterLoss = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
      expect((await postSignal(b.baseUrl, SECRET, afterLoss)).status).toBe(202);
      await waitUntil(() => cutAccounts.every((id) => heldAccounts(b).has(id)), {
        what: `proc-b takes over ${cutAccounts.join(', ')}`,
        timeoutMs: LEASE_TTL_MS * 4,
      });
      const takeoverLines = b.lines.filter(
        (l) =>
          l.type === 'ownership_gained' && cutAccounts.includes(String(l.account_id)) && loggedAt(l) >= cutAt,
      );
      const takeoverMs = Math.max(...takeoverLines.map(loggedAt)) - cutAt;
      await filledOnce(afterLoss.id as string);
      const ofB = heldAccounts(b);
      const afterTokens = tokensOf(afterLoss.id as string);
      for (const id of IDS) expect({ id, token: afterTokens.get(id) }).toEqual({ id, token: ofB.get(id) });
      for (const id of cutAccounts) expect(ofB.get(id)).toBeGreaterThan(ofA.get(id) as number);
      // Still no readiness and still alive, owning nothing.
      expect(heldAccounts(a).size).toBe(0);
      expect(await status(a, '/health/ready')).toBe(503);
      expect(await status(a, '/health/live')).toBe(200);

      // The heal: A is ready again, rejoins, and owns accounts again at epochs above B's.
      const linesBeforeRestore = a.lines.length;
      const restoredAt = Date.now();
      proxied.restore();
      await a.waitUntilReady(15_000);
      const readyAgainMs = Date.now() - restoredAt;
      const regained = await waitUntil(
        () => {
          const lines = a.lines
            .slice(linesBeforeRestore)
            .filter((l) => l.type === 'ownership_gained' && heldAccounts(a).has(String(l.account_id)));
          return lines.length > 0 ? lines : undefined;
        },
        { what: 'proc-a owns accounts again after the heal', timeoutMs: 30_000 },
      );
      const rejoinMs = Math.min(...regained.map(loggedAt)) - restoredAt;
      for (const line of regained)
        expect(Number(line.epoch)).toBeGreaterThan(ofB.get(String(line.account_id)) ?? 0);
      // Each account has one owner again before the next signal (B sheds what A takes).
      await waitUntil(
        () => {
          const [nowA, nowB] = [heldAccounts(a), heldAccounts(b)];
          return nowA.size > 0 && IDS.every((id) => Number(nowA.has(id)) + Number(nowB.has(id)) === 1);
        },
        { what: 'each account exactly one owner after the heal', timeoutMs: 15_000 },
      );
      const healed = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
      expect((await postSignal(a.baseUrl, SECRET, healed)).status).toBe(202);
      await filledOnce(healed.id as string);
      const [finalA, finalB] = [heldAccounts(a), heldAccounts(b)];
      const healedTokens = tokensOf(healed.id as string);
      for (const id of IDS)
        expect({ id, token: healedTokens.get(id) }).toEqual({ id, token: finalA.get(id) ?? finalB.get(id) });

      // No order from A after its loss: none carried A's pre-cut epoch once A said it lost the account.
      for (const id of cutAccounts) {
        const lossAt = Math.min(...lossLinesSeen.filter((l) => l.account_id === id).map(loggedAt));
        const staleAfterLoss = orders(id).filter(
          (r) => r.fencingToken === String(ofA.get(id)) && receivedAt(r) > lossAt,
        );
        expect({ id, staleAfterLoss }).toEqual({ id, staleAfterLoss: [] });
      }
      // Nothing reached a bridge that fencing had to refuse, and the refused signal never traded.
      for (const id of IDS) {
        expect({ id, fenced: orders(id).filter((r) => r.fenced) }).toEqual({ id, fenced: [] });
        expect(orders(id).some((r) => r.idempotencyKey === openRequestId(refused.id as string))).toBe(false);
      }
      const pool = new Pool({ connectionString: databaseUrl });
      try {
        const { rows } = await pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM signal_work WHERE signal_id = $1',
          [refused.id],
        );
        expect(rows[0]?.n).toBe(0);
      } finally {
        await pool.end();
      }

      console.log(
        `scale-out db cut (${mode}): ${cutAccounts.length} accounts lost ${lossMs} ms after the cut (LEASE_TTL_MS ${LEASE_TTL_MS}), ` +
          `taken over by the other ${takeoverMs} ms after the cut; after the heal ready in ${readyAgainMs} ms, ` +
          `owning again ${rejoinMs} ms after it; a signal to the cut process refused in ${refusalMs} ms`,
      );
    },
    150_000,
  );
});
