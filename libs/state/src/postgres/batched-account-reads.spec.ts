import { ManualScheduler, type RiskState } from '@app/core';
import type { Pool } from 'pg';
import {
  PG_T0 as T0,
  leasedAccountsPerTest,
  pgSignal as signal,
} from './postgres-state-backend.test-helpers';
import { PostgresAccountCommands } from './postgres-account-commands';
import type { PostgresStateBackend } from './postgres-state-backend';

const ME = 'process-me';
const ACCOUNTS = Array.from({ length: 40 }, (_, i) => `acct-${i}`);

const state = (baselineEquity: number): RiskState => ({
  baselineEquity,
  baselineSetAt: T0,
  peakEquity: baselineEquity,
  daily: null,
  halt: null,
});

/** Counts the queries that reach the pool. */
function countQueries(pool: Pool): () => number {
  let queries = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
    queries += 1;
    return query(...args);
  };
  return () => queries;
}

describe('BatchedAccountReads: accounts taken on together are read together', () => {
  const database = leasedAccountsPerTest(ME, 3, ACCOUNTS);
  let pool: Pool;
  let backend: PostgresStateBackend;

  beforeEach(() => {
    ({ pool, backend } = database());
  });

  it('opening 40 accounts at once reads their work and risk states in one query each, every account its own', async () => {
    // Each account's own state: some saved, some never; acct-1 also has a second signal, ended on acct-2.
    for (const [i, id] of ACCOUNTS.entries())
      if (i % 2 === 0) await (await backend.openAccount(id)).riskState.save(state(1_000 + i));
    await backend.ledger.claim(signal('s-2'), { accepted: ['acct-1', 'acct-2'], rejected: [] }, T0 + 1);
    await backend.ledger.update('acct-2', 's-2', 'executed', T0 + 2);

    const queries = countQueries(pool);
    const opened = await Promise.all(ACCOUNTS.map((id) => backend.openAccount(id)));
    const risk = await Promise.all(opened.map((account) => account.riskState.load()));
    expect(queries()).toBe(2);

    opened.forEach((account, i) => {
      const ids = account.loaded.unfinished.map((u) => u.signal.id);
      expect(ids).toEqual(i === 1 ? ['s-1', 's-2'] : ['s-1']);
    });
    risk.forEach((load, i) =>
      expect(load).toEqual(
        i % 2 === 0
          ? { kind: 'loaded', value: expect.objectContaining({ baselineEquity: 1_000 + i }) }
          : { kind: 'absent' },
      ),
    );
  });

  it('the halts and resumes asked of 40 accounts taken on at once: one query, each account its own, oldest first', async () => {
    const commands = new PostgresAccountCommands(pool, backend.fence, new ManualScheduler());
    await commands.request('acct-3', { kind: 'halt', reason: 'first', by: 'ops' });
    await commands.request('acct-7', { kind: 'halt', reason: 'other', by: 'ops' });
    await commands.request('acct-3', { kind: 'resume', reviewedBy: 'ops', note: 'second' });
    const queries = countQueries(pool);
    const pending = await Promise.all(ACCOUNTS.map((id) => commands.pending([id])));
    expect(queries()).toBe(1);
    pending.forEach((mine, i) => {
      const expected = i === 3 ? ['halt', 'resume'] : i === 7 ? ['halt'] : [];
      expect(mine.map((c) => c.command.kind)).toEqual(expected);
      expect(mine.every((c) => c.accountId === ACCOUNTS[i])).toBe(true);
    });
  });

  it('reads afresh each time (nothing cached): a later open sees what was written since', async () => {
    const first = await backend.openAccount('acct-5');
    expect(first.loaded.unfinished.map((u) => u.signal.id)).toEqual(['s-1']);
    await backend.ledger.update('acct-5', 's-1', 'executed', T0 + 1);
    await first.riskState.save(state(777));
    const again = await backend.openAccount('acct-5');
    expect(again.loaded.unfinished).toEqual([]);
    expect(await again.riskState.load()).toMatchObject({ kind: 'loaded', value: { baselineEquity: 777 } });
  });
});
