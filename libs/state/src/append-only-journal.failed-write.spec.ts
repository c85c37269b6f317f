import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppendOnlyJournal } from './append-only-journal';

type WriteBuffer = (this: FileHandle, data: Buffer) => Promise<{ bytesWritten: number; buffer: Buffer }>;

/**
 * A batch that fails (disk full mid-write, EIO on sync) must leave the file as it was: its writers
 * were told it failed, so a record of it on disk would be acted on after a restart, and a half line
 * followed by later records would read as damage in the middle (an untrusted ledger).
 */
describe('AppendOnlyJournal: a failed write is rolled back', () => {
  let dir: string;
  let path: string;
  let proto: FileHandle;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'journal-failed-'));
    path = join(dir, 'journal.jsonl');
    const probe = await open(join(dir, 'probe'), 'a');
    proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  const replayed = async () => {
    const again = new AppendOnlyJournal<{ n: number }>(path);
    const replay = await again.open();
    await again.close();
    return replay;
  };

  it('cuts off a half-written batch (disk full), so the next record is not glued to it', async () => {
    const journal = new AppendOnlyJournal<{ n: number }>(path);
    await journal.open();
    await journal.append({ n: 1 });
    const realWrite = proto.write as unknown as WriteBuffer;
    jest.spyOn(proto, 'write').mockImplementationOnce(async function (this: FileHandle, data: unknown) {
      await realWrite.call(this, (data as Buffer).subarray(0, 5));
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    });

    await expect(journal.append({ n: 2 })).rejects.toThrow(/could not append .*ENOSPC/);
    await journal.append({ n: 3 });
    await journal.close();

    expect(await readFile(path, 'utf8')).toBe('{"n":1}\n{"n":3}\n');
    const replay = await replayed();
    expect(replay.records).toEqual([{ n: 1 }, { n: 3 }]);
    expect(replay.corruptLines).toEqual([]);
  });

  it('treats a short write as a failure and rolls it back', async () => {
    const journal = new AppendOnlyJournal<{ n: number }>(path);
    await journal.open();
    const realWrite = proto.write as unknown as WriteBuffer;
    jest.spyOn(proto, 'write').mockImplementationOnce(async function (this: FileHandle, data: unknown) {
      return realWrite.call(this, (data as Buffer).subarray(0, 3));
    } as FileHandle['write']);

    await expect(journal.append({ n: 1 })).rejects.toThrow(/short write: 3 of 8 bytes/);
    await journal.append({ n: 2 });
    await journal.close();
    expect(await readFile(path, 'utf8')).toBe('{"n":2}\n');
  });

  it('removes a whole batch whose sync failed, every writer of it told so', async () => {
    const journal = new AppendOnlyJournal<{ n: number }>(path);
    await journal.open();
    await journal.append({ n: 1 });
    const datasync = jest.spyOn(proto, 'datasync');
    // The first append's sync fails; the two queued behind it form the next batch and land.
    datasync.mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    const results = await Promise.allSettled([
      journal.append({ n: 2 }),
      journal.append({ n: 3 }),
      journal.append({ n: 4 }),
    ]);
    await journal.close();

    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect((await replayed()).records).toEqual([{ n: 1 }, { n: 3 }, { n: 4 }]);
  });

  it('refuses every later append when the rollback fails too (fails closed, never writes after garbage)', async () => {
    const journal = new AppendOnlyJournal<{ n: number }>(path);
    await journal.open();
    await journal.append({ n: 1 });
    const realWrite = proto.write as unknown as WriteBuffer;
    jest.spyOn(proto, 'write').mockImplementationOnce(async function (this: FileHandle, data: unknown) {
      await realWrite.call(this, (data as Buffer).subarray(0, 4));
      throw new Error('EIO: i/o error');
    });
    jest.spyOn(proto, 'truncate').mockRejectedValueOnce(new Error('EROFS: read-only file system'));

    await expect(journal.append({ n: 2 })).rejects.toThrow(/could not append/);
    await expect(journal.append({ n: 3 })).rejects.toThrow(
      /refuses appends: a failed write could not be rolled back \(Error: EROFS/,
    );
    await expect(journal.append({ n: 4 })).rejects.toThrow(/refuses appends/);
    await journal.close();
    // Nothing was written after the half line: a restart sees a torn tail, not damage in the middle.
    expect(await readFile(path, 'utf8')).toBe('{"n":1}\n{"n"');
    const replay = await replayed();
    expect(replay.records).toEqual([{ n: 1 }]);
    expect(replay.tornTail).toBe(true);
    expect(replay.corruptLines).toEqual([]);
  });
});
