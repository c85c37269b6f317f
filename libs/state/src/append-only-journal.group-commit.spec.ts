import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppendOnlyJournal } from './append-only-journal';

describe('AppendOnlyJournal: concurrent appends (group commit)', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'journal-group-'));
    path = join(dir, 'journal.jsonl');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lands every one of many concurrent appends, in the order they were called', async () => {
    const journal = new AppendOnlyJournal<{ n: number }>(path);
    await journal.open();
    const count = 500;
    await Promise.all(Array.from({ length: count }, (_, n) => journal.append({ n })));
    await journal.close();

    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines).toHaveLength(count + 1);
    expect(lines[count]).toBe('');
    expect(lines.slice(0, count).map((line) => (JSON.parse(line) as { n: number }).n)).toEqual(
      Array.from({ length: count }, (_, n) => n),
    );

    const again = new AppendOnlyJournal<{ n: number }>(path);
    const replay = await again.open();
    expect(replay.records).toHaveLength(count);
    expect(replay.records[0]).toEqual({ n: 0 });
    expect(replay.records[count - 1]).toEqual({ n: count - 1 });
    expect(replay.corruptLines).toEqual([]);
    await again.close();
  });

  it('shares one fdatasync among the appends that queued behind a running one', async () => {
    const probe = await open(path, 'a');
    const proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const datasync = jest.spyOn(proto, 'datasync');
    try {
      const journal = new AppendOnlyJournal<{ n: number }>(path);
      await journal.open();
      datasync.mockClear();
      await Promise.all(Array.from({ length: 200 }, (_, n) => journal.append({ n })));
      // The first append starts a sync on its own; the other 199 arrive while it runs and share the next one.
      expect(datasync).toHaveBeenCalledTimes(2);
      await journal.close();
    } finally {
      datasync.mockRestore();
    }
  });

  it('resolves each append only once its own record is in the file', async () => {
    const journal = new AppendOnlyJournal<{ n: number }>(path);
    await journal.open();
    const seenAtResolve: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        journal.append({ n }).then(async () => {
          const text = await readFile(path, 'utf8');
          seenAtResolve.push(text.includes(`{"n":${n}}\n`) ? 1 : 0);
        }),
      ),
    );
    await journal.close();
    expect(seenAtResolve).toHaveLength(50);
    expect(seenAtResolve.every((seen) => seen === 1)).toBe(true);
  });

  it('keeps appends made while a batch is being written after that batch, in call order', async () => {
    const journal = new AppendOnlyJournal<{ n: number }>(path);
    await journal.open();
    const first = journal.append({ n: 1 });
    const second = journal.append({ n: 2 });
    await first;
    const third = journal.append({ n: 3 });
    const fourth = journal.append({ n: 4 });
    await Promise.all([second, third, fourth]);
    await journal.close();
    expect(await readFile(path, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
  });

  it('close waits for appends still queued, so none is lost', async () => {
    const journal = new AppendOnlyJournal<{ n: number }>(path);
    await journal.open();
    const appends = Array.from({ length: 20 }, (_, n) => journal.append({ n }));
    await journal.close();
    await Promise.all(appends);
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(20);
  });
});
