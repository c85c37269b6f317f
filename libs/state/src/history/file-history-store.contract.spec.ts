import { mkdtemp, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryEvent } from '@app/core';
import { describeHistoryStoreContract, received } from '../testing/history-store-contract';
import { FileHistoryStore } from './file-history-store';

const accountDir = (dir: string) => (accountId: string) => join(dir, 'accounts', accountId);

describeHistoryStoreContract('files under STATE_DIR', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'history-contract-'));
  const open = () => new FileHistoryStore({ accountDir: accountDir(dir), accountIds: [] });
  return {
    store: open(),
    reopen: () => Promise.resolve(open()),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('FileHistoryStore', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'history-files-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one JSON-lines file per account per UTC day', async () => {
    const store = new FileHistoryStore({ accountDir: accountDir(dir), accountIds: [] });
    await store.append([
      received('acct-a', Date.UTC(2026, 10, 29, 23, 59, 59), 's-1'),
      received('acct-a', Date.UTC(2026, 10, 30, 0, 0, 0), 's-2'),
    ]);
    expect((await readdir(join(dir, 'accounts', 'acct-a', 'history'))).sort()).toEqual([
      '2026-11-29.jsonl',
      '2026-11-30.jsonl',
    ]);
  });

  it('skips a torn last line (a crash in the middle of a write) and says so', async () => {
    const problems: string[] = [];
    const store = new FileHistoryStore({
      accountDir: accountDir(dir),
      accountIds: [],
      onProblem: (m) => problems.push(m),
    });
    const at = Date.UTC(2026, 10, 30, 9);
    await store.append([received('acct-a', at, 's-1')]);
    await appendFile(join(dir, 'accounts', 'acct-a', 'history', '2026-11-30.jsonl'), '{"type":"signal_rec');
    const read: HistoryEvent[] = [];
    for await (const e of store.read('acct-a', { from: at, to: at + 1_000 })) read.push(e);
    expect(read).toHaveLength(1);
    expect(problems).toHaveLength(1);
  });

  it('prunes the history of configured accounts it has not written to since start', async () => {
    const historyDir = join(dir, 'accounts', 'acct-z', 'history');
    await new FileHistoryStore({ accountDir: accountDir(dir), accountIds: [] }).append([
      received('acct-z', Date.UTC(2026, 0, 1), 's'),
    ]);
    await writeFile(join(historyDir, 'notes.txt'), 'not history');
    const store = new FileHistoryStore({ accountDir: accountDir(dir), accountIds: ['acct-z'] });
    expect(
      await store.prune(Date.UTC(2026, 10, 30), { retainMs: 90 * 86_400_000, denseEquityMs: 86_400_000 }),
    ).toBe(1);
    expect(await readdir(historyDir)).toEqual(['notes.txt']);
  });
});
