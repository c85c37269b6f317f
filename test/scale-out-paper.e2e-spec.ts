import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { accountStateDir } from '@app/config';
import { openRequestId } from '@app/core';
import { PAPER_SNAPSHOT_FILE } from '@app/mt5/paper/file-paper-account-store';
import {
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '@app/state/postgres/testing/throwaway-postgres';
import { ServiceProcess } from './support/service-process';
import { postSignal, signalBody } from './support/signed-request';
import { heldAccounts } from './support/held-accounts';
import { waitUntil } from './support/wait-until';

/**
 * Paper accounts on several processes (docs/scale-out.md): a paper account's book lives in the
 * database, so when its owner is killed the new owner lists the positions opened before the kill
 * and goes on trading the same book. Each process has a STATE_DIR of its own.
 */

const SECRET = 'inbox-secret-for-scale-out-paper-e2e';
const ADMIN = 'admin-token-for-scale-out-paper-e2e';
const CHANNEL = 'sp';
const IDS = ['paper-1', 'paper-2', 'paper-3', 'paper-4'];
const LEASE_TTL_MS = 3_000;
const LEASE_RENEW_MS = 500;

interface ListedPosition {
  ticket: number;
  symbol: string;
  volume: number;
  comment: string;
}

describe('scale-out: paper accounts move with their owner', () => {
  let db: ThrowawayPostgres;
  let accountsFile: string;
  let databaseUrl: string;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    ServiceProcess.buildOnce();
    db = await startThrowawayPostgres();
    const dir = await mkdtemp(join(tmpdir(), 'paper-accounts-'));
    accountsFile = join(dir, 'accounts.yaml');
    await writeFile(
      accountsFile,
      [
        'accounts:',
        ...IDS.flatMap((id) => [
          `  - id: ${id}`,
          '    gateway: paper',
          '    paper: { balance: 10000 }',
          `    channels: [${CHANNEL}]`,
        ]),
        '',
      ].join('\n'),
    );
  }, 120_000);

  afterAll(async () => {
    await db?.stop();
  });

  beforeEach(async () => {
    databaseUrl = await db.newDatabase();
  });

  afterEach(async () => {
    for (const p of processes.splice(0)) await p.stop();
  });

  const start = async (name: string): Promise<ServiceProcess> => {
    const p = await ServiceProcess.start({
      ACCOUNTS_FILE: accountsFile,
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
    });
    processes.push(p);
    await p.waitUntilReady(30_000);
    return p;
  };

  /** The accounts a process owns now, from its ownership log lines. */
  const ownedBy = (p: ServiceProcess): ReadonlySet<string> => new Set(heldAccounts(p).keys());

  const ownerOf = (id: string, procs: readonly ServiceProcess[]): ServiceProcess | undefined => {
    const owners = procs.filter((p) => ownedBy(p).has(id));
    return owners.length === 1 ? owners[0] : undefined;
  };

  /** The account's positions as a process lists them; undefined while it cannot (not owned there). */
  const positionsOn = async (p: ServiceProcess, id: string): Promise<ListedPosition[] | undefined> => {
    const response = await fetch(`${p.baseUrl}/api/v1/accounts/${id}/positions`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    if (response.status !== 200) return undefined;
    return ((await response.json()) as { positions: ListedPosition[] }).positions;
  };

  /** Waits until every account lists a position of the signal on its owner (its comment is the order's request id); then each must list exactly one. */
  const tradedOnce = async (signalId: string, procs: readonly ServiceProcess[]) => {
    const requestId = openRequestId(signalId);
    const found = new Map<string, ListedPosition[]>();
    await waitUntil(
      async () => {
        for (const id of IDS) {
          const owner = ownerOf(id, procs);
          const listed = owner === undefined ? undefined : await positionsOn(owner, id);
          if (listed === undefined || !listed.some((position) => position.comment === requestId))
            return false;
          found.set(id, listed);
        }
        return true;
      },
      { what: `signal ${signalId} traded on ${IDS.join(', ')}`, timeoutMs: 20_000, intervalMs: 100 },
    );
    for (const id of IDS)
      expect({ id, count: found.get(id)?.filter((p) => p.comment === requestId).length }).toEqual({
        id,
        count: 1,
      });
    return found;
  };

  const shape = (list: readonly ListedPosition[] | undefined) =>
    (list ?? []).map(({ ticket, symbol, volume, comment }) => ({ ticket, symbol, volume, comment }));

  it('kill -9 of an owner: the new owner lists the positions opened before the kill, and trades the same books once more', async () => {
    const a = await start('proc-a');
    const b = await start('proc-b');
    await waitUntil(
      () =>
        IDS.every((id) => ownerOf(id, [a, b]) !== undefined) && ownedBy(a).size > 0 && ownedBy(b).size > 0,
      { what: 'both processes own some paper accounts, each account one owner', timeoutMs: 15_000 },
    );

    const first = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
    expect((await postSignal(a.baseUrl, SECRET, first)).status).toBe(202);
    const before = await tradedOnce(first.id as string, [a, b]);

    const victims = IDS.filter((id) => ownedBy(a).has(id));
    expect(victims.length).toBeGreaterThan(0);
    a.kill('SIGKILL');
    await a.exited();
    await waitUntil(async () => (await Promise.all(victims.map((id) => positionsOn(b, id)))).every(Boolean), {
      what: `proc-b owns and lists ${victims.join(', ')}`,
      timeoutMs: LEASE_TTL_MS * 5,
      intervalMs: 100,
    });

    // The positions opened on proc-a are in proc-b's books: same tickets, symbols, volumes and ids.
    for (const id of victims)
      expect({ id, positions: shape(await positionsOn(b, id)) }).toEqual({
        id,
        positions: shape(before.get(id)),
      });

    const second = signalBody({ channel: CHANNEL, instrument: 'EURUSD', volume: 0.01 });
    expect((await postSignal(b.baseUrl, SECRET, second)).status).toBe(202);
    const after = await tradedOnce(second.id as string, [b]);
    // Each account: the first signal's position still there once, plus the second's.
    for (const id of IDS)
      expect({ id, comments: (after.get(id) ?? []).map((p) => p.comment).sort() }).toEqual({
        id,
        comments: [openRequestId(first.id as string), openRequestId(second.id as string)].sort(),
      });

    // The books are in the database, none in either process's own STATE_DIR.
    const pool = new Pool({ connectionString: databaseUrl });
    try {
      const books = await pool.query<{ account_id: string }>(
        'SELECT account_id FROM paper_books ORDER BY account_id',
      );
      expect(books.rows.map((row) => row.account_id)).toEqual(IDS);
    } finally {
      await pool.end();
    }
    for (const p of [a, b])
      for (const id of IDS)
        expect(existsSync(join(accountStateDir(p.stateDir, id), PAPER_SNAPSHOT_FILE))).toBe(false);
  }, 120_000);
});
