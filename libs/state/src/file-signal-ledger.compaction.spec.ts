import { mkdtemp, open, readdir, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FOR_DEFAULT,
  HALTED_DEFAULT,
  LEDGER_T0 as T0,
  unfinishedOf,
  ledgerSignal as signal,
  reopenLedger,
} from './file-signal-ledger.test-helpers';

/**
 * The ledger journal gets a record per step of every signal; without compaction it (and the
 * replay at every start) grows with the steps for ever. `open` rewrites it to one record per id.
 */
describe('FileSignalLedger: compaction at open', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ledger-compact-'));
    path = join(dir, 'signals.jsonl');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const restart = () => reopenLedger(dir);
  const fileRecords = async () =>
    (await readFile(path, 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('keeps one record per id: the final status with its details, the signal only while unfinished', async () => {
    const first = await restart();
    await first.ledger.claim(signal('done'), FOR_DEFAULT, T0);
    await first.ledger.update('default', 'done', 'approved', T0 + 1);
    await first.ledger.update('default', 'done', 'executed', T0 + 2, { request_id: 'req-done', ticket: 7 });
    await first.ledger.claim(signal('refused'), HALTED_DEFAULT, T0 + 3);
    await first.ledger.claim(signal('pending'), FOR_DEFAULT, T0 + 4);
    await first.ledger.update('default', 'pending', 'approved', T0 + 5);
    await first.ledger.close();
    expect(await fileRecords()).toHaveLength(6);

    const second = await restart();
    expect(second.load.compacted).toEqual({ before: 6, after: 3 });
    expect(unfinishedOf(second.load)).toEqual([{ signal: signal('pending'), status: 'approved' }]);
    expect(await fileRecords()).toEqual([
      { id: 'done', status: 'executed', at: T0 + 2, request_id: 'req-done', ticket: 7 },
      { id: 'refused', status: 'rejected', at: T0 + 3, reason: 'halted' },
      { id: 'pending', status: 'approved', at: T0 + 5, signal: signal('pending') },
    ]);
    // The compacted journal takes appends, and a restart reads the same ledger from it.
    await second.ledger.update('default', 'pending', 'executed', T0 + 6);
    expect(await second.ledger.claim(signal('done'), FOR_DEFAULT, T0 + 7)).toBe('duplicate');
    await second.ledger.close();

    const third = await restart();
    expect(third.load).toMatchObject({ known: 3, trusted: true, problems: [] });
    expect(unfinishedOf(third.load)).toEqual([]);
    expect(third.load.compacted).toEqual({ before: 4, after: 3 });
    expect(third.ledger.status('done')).toBe('executed');
    expect(third.ledger.status('refused')).toBe('rejected');
    expect(third.ledger.status('pending')).toBe('executed');
    await third.ledger.close();
  });

  it('does not rewrite a journal that has nothing superseded', async () => {
    const first = await restart();
    await first.ledger.claim(signal('a'), HALTED_DEFAULT, T0);
    await first.ledger.claim(signal('b'), HALTED_DEFAULT, T0);
    await first.ledger.close();
    const before = await stat(path);

    const second = await restart();
    expect(second.load.compacted).toBeUndefined();
    await second.ledger.close();
    // A rewrite would give the file a new inode, even with the same bytes.
    expect((await stat(path)).ino).toBe(before.ino);
  });

  it('does not compact (and reports) lines that are not signal records', async () => {
    const text =
      '{"id":"a","status":"accepted","at":1}\n{"id":"a","status":"executed","at":2}\n{"note":"x"}\n';
    await writeFile(path, text);
    const { ledger, load } = await restart();
    expect(load.compacted).toBeUndefined();
    expect(load.problems).toEqual([`${path}: skipped 1 line(s) that are not signal records`]);
    await ledger.close();
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it('starts anyway when compaction fails (a full disk), keeps the old journal, and leaves no temp file', async () => {
    const first = await restart();
    await first.ledger.claim(signal('a'), FOR_DEFAULT, T0);
    await first.ledger.update('default', 'a', 'executed', T0 + 1);
    await first.ledger.close();
    // A temp file a kill -9 left in the middle of an earlier compaction.
    await writeFile(`${path}.999.deadbeef.tmp`, 'half');
    const probe = await open(join(dir, 'probe'), 'a');
    const proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const sync = jest
      .spyOn(proto, 'sync')
      .mockRejectedValueOnce(new Error('ENOSPC: no space left on device'));
    try {
      const second = await restart();
      expect(second.load.compacted).toBeUndefined();
      expect(second.load.problems).toEqual([expect.stringMatching(/not compacted: .*ENOSPC/)]);
      expect(second.ledger.status('a')).toBe('executed');
      expect(await second.ledger.claim(signal('b'), FOR_DEFAULT, T0 + 2)).toBe('claimed');
      await second.ledger.close();
    } finally {
      sync.mockRestore();
    }
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(await fileRecords()).toHaveLength(3);

    const third = await restart();
    expect(third.load).toMatchObject({ known: 2, problems: [], compacted: { before: 3, after: 2 } });
    await third.ledger.close();
  });

  it('never compacts a damaged journal: the evidence stays for a person to read', async () => {
    const damaged =
      '{"id":"a","status":"accepted","at":1}\n{"id":"b","sta\n{"id":"a","status":"executed","at":2}\n';
    await writeFile(path, damaged);

    const { ledger, load } = await restart();
    expect(load.trusted).toBe(false);
    expect(load.compacted).toBeUndefined();
    await ledger.close();
    expect(await readFile(path, 'utf8')).toBe(damaged);
  });

  it('keeps the file bounded by ids over many restarts of a busy ledger', async () => {
    for (let run = 0; run < 5; run++) {
      const { ledger } = await restart();
      for (let i = 0; i < 100; i++) {
        const id = `r${run}-${i}`;
        await ledger.claim(signal(id), FOR_DEFAULT, T0 + i);
        await ledger.update('default', id, 'executed', T0 + i);
      }
      await ledger.close();
    }
    const { ledger, load } = await restart();
    expect(load.known).toBe(500);
    await ledger.close();
    const records = await fileRecords();
    expect(records).toHaveLength(500);
    expect(records.every((r) => r.status === 'executed' && r.signal === undefined)).toBe(true);
  });
});
