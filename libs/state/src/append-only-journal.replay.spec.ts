import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppendOnlyJournal } from './append-only-journal';

interface Rec {
  n: number;
  note?: string;
}

describe('AppendOnlyJournal: replay after close, crash and damage', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'journal-replay-'));
    path = join(dir, 'nested', 'journal.jsonl');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const reopen = async () => {
    const journal = new AppendOnlyJournal<Rec>(path);
    const replay = await journal.open();
    return { journal, replay };
  };

  it('starts empty when the file does not exist, creating its directory', async () => {
    const { journal, replay } = await reopen();
    expect(replay).toEqual({ records: [], tornTail: false, corruptLines: [] });
    await journal.append({ n: 1 });
    await journal.close();
    expect(await readFile(path, 'utf8')).toBe('{"n":1}\n');
  });

  it('keeps records across close and reopen, in order, one JSON object per line', async () => {
    const first = await reopen();
    await first.journal.append({ n: 1 });
    await first.journal.append({ n: 2, note: 'ünïcode ✓' });
    await first.journal.close();
    const second = await reopen();
    expect(second.replay).toEqual({
      records: [{ n: 1 }, { n: 2, note: 'ünïcode ✓' }],
      tornTail: false,
      corruptLines: [],
    });
    await second.journal.append({ n: 3 });
    await second.journal.close();
    const third = await reopen();
    expect(third.replay.records).toEqual([{ n: 1 }, { n: 2, note: 'ünïcode ✓' }, { n: 3 }]);
    await third.journal.close();
    expect((await readFile(path, 'utf8')).split('\n')).toEqual([
      '{"n":1}',
      '{"n":2,"note":"ünïcode ✓"}',
      '{"n":3}',
      '',
    ]);
  });

  it('skips a last line cut short by a crash and reports it as a torn tail, not as damage', async () => {
    const first = await reopen();
    await first.journal.append({ n: 1 });
    await first.journal.close();
    await appendFile(path, '{"n":2,"no');
    const second = await reopen();
    expect(second.replay).toEqual({ records: [{ n: 1 }], tornTail: true, corruptLines: [] });
    await second.journal.close();
  });

  it('starts the next append on a line of its own after a torn tail, readable after reopen', async () => {
    const first = await reopen();
    await first.journal.append({ n: 1 });
    await first.journal.close();
    await appendFile(path, '{"n":2,"no');
    const second = await reopen();
    await second.journal.append({ n: 3 });
    await second.journal.close();
    expect(await readFile(path, 'utf8')).toBe('{"n":1}\n{"n":3}\n');
    const third = await reopen();
    expect(third.replay.records).toEqual([{ n: 1 }, { n: 3 }]);
    await third.journal.close();
  });

  it('does not turn a repaired torn tail into middle damage on later restarts', async () => {
    // kill -9 mid-write, restart, append, restart again: the cut record must not be reported as damage,
    // or one crash would leave the signal ledger untrusted forever.
    const first = await reopen();
    await first.journal.append({ n: 1 });
    await first.journal.close();
    await appendFile(path, '{"n":2,"no');
    const second = await reopen();
    await second.journal.append({ n: 3 });
    await second.journal.close();
    const third = await reopen();
    expect(third.replay).toEqual({ records: [{ n: 1 }, { n: 3 }], tornTail: false, corruptLines: [] });
    await third.journal.close();
    const fourth = await reopen();
    expect(fourth.replay).toEqual({ records: [{ n: 1 }, { n: 3 }], tornTail: false, corruptLines: [] });
    await fourth.journal.close();
  });

  it('keeps a complete last record that lacks only its newline, and appends after it on a new line', async () => {
    const first = await reopen();
    await first.journal.close();
    await writeFile(path, '{"n":1}\n{"n":2}');
    const second = await reopen();
    expect(second.replay.records).toEqual([{ n: 1 }, { n: 2 }]);
    expect(second.replay.corruptLines).toEqual([]);
    await second.journal.append({ n: 3 });
    await second.journal.close();
    const third = await reopen();
    expect(third.replay).toEqual({
      records: [{ n: 1 }, { n: 2 }, { n: 3 }],
      tornTail: false,
      corruptLines: [],
    });
    await third.journal.close();
  });

  it('reports damaged complete lines in the middle by line number, keeping the records around them', async () => {
    const first = await reopen();
    await first.journal.close();
    await writeFile(path, '{"n":1}\nGARBAGE\n{"n":3}\n{"n":4,\n{"n":5}\n');
    const second = await reopen();
    expect(second.replay).toEqual({
      records: [{ n: 1 }, { n: 3 }, { n: 5 }],
      tornTail: false,
      corruptLines: [2, 4],
    });
    await second.journal.close();
  });

  it('tells a damaged middle line and a torn tail apart in one file', async () => {
    const first = await reopen();
    await first.journal.close();
    await writeFile(path, '{"n":1}\n{"n":\n{"n":3}\n{"n":4');
    const second = await reopen();
    expect(second.replay).toEqual({ records: [{ n: 1 }, { n: 3 }], tornTail: true, corruptLines: [2] });
    await second.journal.close();
  });

  it('ignores blank lines', async () => {
    const first = await reopen();
    await first.journal.close();
    await writeFile(path, '\n{"n":1}\n\n   \n{"n":2}\n');
    const second = await reopen();
    expect(second.replay).toEqual({ records: [{ n: 1 }, { n: 2 }], tornTail: false, corruptLines: [] });
    await second.journal.close();
  });

  it('refuses appends before open and after close', async () => {
    const journal = new AppendOnlyJournal<Rec>(path);
    await expect(journal.append({ n: 1 })).rejects.toThrow('is not open');
    await journal.open();
    await journal.close();
    await expect(journal.append({ n: 2 })).rejects.toThrow('is not open');
  });
});
