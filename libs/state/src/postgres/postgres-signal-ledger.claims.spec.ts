import { once } from 'node:events';
import { Client, Pool, type Notification } from 'pg';
import { WORK_CHANNEL } from './postgres-signal-ledger';
import { PostgresStateBackend } from './postgres-state-backend';
import {
  PG_T0 as T0,
  backendFor,
  holdLease,
  migratedDatabase,
  pgSignal as signal,
  throwawayPostgresPerSuite,
} from './postgres-state-backend.test-helpers';

const A = 'acct-a';
const B = 'acct-b';
const C = 'acct-c';
const forA = { accepted: [A], rejected: [] };

describe('PostgresSignalLedger: claims from several processes', () => {
  const server = throwawayPostgresPerSuite();
  let url: string;
  let poolA: Pool;
  let poolB: Pool;
  /** Two processes, each with a pool of its own, on one database. */
  let processA: PostgresStateBackend;
  let processB: PostgresStateBackend;

  beforeEach(async () => {
    url = await migratedDatabase(server());
    poolA = new Pool({ connectionString: url, max: 4 });
    poolB = new Pool({ connectionString: url, max: 4 });
    processA = backendFor(poolA, 'process-a', new Map([[A, 1]]));
    processB = backendFor(poolB, 'process-b', new Map());
  });

  afterEach(async () => {
    await Promise.all([poolA.end(), poolB.end()]);
  });

  const count = async (table: 'signals' | 'signal_work') =>
    (await poolB.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n;

  it('gives exactly one claimed per id when two processes claim the same ids at once', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `both-${i}`);
    const outcomes = await Promise.all(
      ids.flatMap((id) =>
        [processA, processB].map((process) =>
          process.ledger.claim(signal(id), forA, T0).then((o) => ({ id, o })),
        ),
      ),
    );
    for (const id of ids)
      expect(
        outcomes
          .filter((r) => r.id === id)
          .map((r) => r.o)
          .sort(),
      ).toEqual(['claimed', 'duplicate']);
    expect(await count('signals')).toBe(ids.length);
    expect(await count('signal_work')).toBe(ids.length);
  });

  it('commits many concurrent claims in fewer transactions than claims, every one durable', async () => {
    const n = 400;
    const outcomes = await Promise.all(
      Array.from({ length: n }, (_, i) => processA.ledger.claim(signal(`many-${i}`), forA, T0 + i)),
    );
    expect(outcomes.every((o) => o === 'claimed')).toBe(true);
    expect(processA.ledger.commits).toBeGreaterThanOrEqual(1);
    expect(processA.ledger.commits).toBeLessThan(n / 4);
    // Read through the other process's pool: committed, not just answered.
    expect(await count('signals')).toBe(n);
    expect(await count('signal_work')).toBe(n);
  });

  it('answers duplicate for repeats of an id in one batch: the first claim wins', async () => {
    // The first claim commits alone; the four behind it share the next transaction.
    const outcomes = await Promise.all([
      processA.ledger.claim(signal('first'), forA, T0),
      processA.ledger.claim(signal('repeated'), forA, T0),
      processA.ledger.claim(signal('repeated'), { accepted: [B], rejected: [] }, T0),
      processA.ledger.claim(signal('other'), forA, T0),
      processA.ledger.claim(signal('repeated'), forA, T0),
    ]);
    expect(outcomes).toEqual(['claimed', 'claimed', 'duplicate', 'claimed', 'duplicate']);
    expect(processA.ledger.commits).toBe(2);
    expect(await processB.pendingWork([A, B])).toEqual([
      { accountId: A, signal: signal('first'), status: 'accepted', seq: expect.any(Number) },
      { accountId: A, signal: signal('repeated'), status: 'accepted', seq: expect.any(Number) },
      { accountId: A, signal: signal('other'), status: 'accepted', seq: expect.any(Number) },
    ]);
  });

  it('rejects every claim of a batch that fails, keeps none of them, and claims them on a retry', async () => {
    await poolB.query(`ALTER TABLE signal_work ADD CONSTRAINT no_poison CHECK (account_id <> 'poison')`);
    const settle = (id: string, accepted: string[]) =>
      processA.ledger.claim(signal(id), { accepted, rejected: [] }, T0).then(
        (outcome) => outcome,
        (error: unknown) => (error instanceof Error ? 'rejected' : 'odd'),
      );
    const outcomes = await Promise.all([
      settle('alone', [A]),
      settle('ok-1', [A]),
      settle('bad', ['poison']),
      settle('ok-2', [A]),
    ]);
    expect(outcomes).toEqual(['claimed', 'rejected', 'rejected', 'rejected']);
    expect(await count('signals')).toBe(1);
    expect(processA.ledger.seen('ok-1')).toBe(false);

    await poolB.query('ALTER TABLE signal_work DROP CONSTRAINT no_poison');
    expect(await processA.ledger.claim(signal('ok-1'), forA, T0)).toBe('claimed');
    expect(await processA.ledger.claim(signal('ok-2'), forA, T0)).toBe('claimed');
  });

  it('notifies a LISTEN connection of each committed signal with accepted work, not of one rejected everywhere', async () => {
    const listener = new Client({ connectionString: url });
    await listener.connect();
    try {
      await listener.query(`LISTEN ${WORK_CHANNEL}`);
      const payloads: string[] = [];
      listener.on('notification', (note: Notification) => payloads.push(note.payload ?? ''));
      const arrived = (id: string) =>
        (async () => {
          while (!payloads.includes(id)) await once(listener, 'notification');
        })();

      const first = arrived('n-work');
      await processB.ledger.claim(signal('n-halted'), { accepted: [], rejected: [C], reason: 'halted' }, T0);
      await processB.ledger.claim(signal('n-work'), { accepted: [A, B], rejected: [] }, T0);
      await first;
      // Notifications arrive in commit order: the halted-only claim, committed first, sent none.
      expect(payloads).toEqual(['n-work']);
    } finally {
      await listener.end();
    }
  });

  it('lets any process read the accepted work of the accounts it owns, oldest first', async () => {
    await holdLease(poolA, A, 'process-a', 1);
    await processB.ledger.claim(signal('w-1'), forA, T0);
    await processB.ledger.claim(signal('w-2'), { accepted: [A, B], rejected: [C] }, T0 + 1);
    await processB.ledger.claim(signal('w-3'), { accepted: [C], rejected: [] }, T0 + 2);
    await processB.ledger.claim(signal('w-4'), forA, T0 + 3);
    await processA.ledger.update(A, 'w-1', 'approved', T0 + 5);

    expect(await processA.pendingWork([A])).toEqual([
      { accountId: A, signal: signal('w-2'), status: 'accepted', seq: expect.any(Number) },
      { accountId: A, signal: signal('w-4'), status: 'accepted', seq: expect.any(Number) },
    ]);
    expect((await processA.pendingWork([B, C])).map((w) => `${w.accountId}:${w.signal.id}`)).toEqual([
      'acct-b:w-2',
      'acct-c:w-3',
    ]);
    expect(await processA.pendingWork([])).toEqual([]);
    // After a signal's place in arrival order: only later ones (an owner's cursor).
    const [first] = await processA.pendingWork([A]);
    expect((await processA.pendingWork([A], first?.seq)).map((w) => w.signal.id)).toEqual(['w-4']);
  });

  it('answers seen only for ids this process claimed or found duplicate', async () => {
    expect(await processA.ledger.claim(signal('mine'), forA, T0)).toBe('claimed');
    expect(processA.ledger.seen('mine')).toBe(true);
    expect(processB.ledger.seen('mine')).toBe(false);
    expect(await processB.ledger.claim(signal('mine'), forA, T0)).toBe('duplicate');
    expect(processB.ledger.seen('mine')).toBe(true);
    expect(processA.ledger.seen('never')).toBe(false);
  });

  it('describes where the state lives without the password', () => {
    const password = new URL(url).password;
    expect(password).not.toBe('');
    const where = processA.where;
    expect(where).toMatch(/^postgres:\/\/127\.0\.0\.1:\d+\/\w+$/);
    expect(where).not.toContain(password);
  });
});
