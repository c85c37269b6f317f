import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChecksummedJsonFile } from './checksummed-json-file';

interface Latch {
  halted: boolean;
  reason: string | null;
  baseline: number;
}

const HALTED: Latch = { halted: true, reason: 'cap', baseline: 10_000.5 };

describe('ChecksummedJsonFile', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'checksummed-'));
    path = join(dir, 'sub', 'risk-state.json');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports an absent file as absent', async () => {
    expect(await new ChecksummedJsonFile<Latch>(path).load()).toEqual({ kind: 'absent' });
  });

  it('round-trips a value through a new instance, in an envelope with the SHA-256 of the value, mode 0600', async () => {
    await new ChecksummedJsonFile<Latch>(path).save(HALTED);
    expect(await new ChecksummedJsonFile<Latch>(path).load()).toEqual({ kind: 'loaded', value: HALTED });
    const envelope = JSON.parse(await readFile(path, 'utf8')) as {
      version: number;
      sha256: string;
      value: unknown;
    };
    expect(envelope).toEqual({
      version: 1,
      sha256: createHash('sha256').update(JSON.stringify(HALTED)).digest('hex'),
      value: HALTED,
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('replaces the previous value and leaves no temp files behind', async () => {
    const file = new ChecksummedJsonFile<Latch>(path);
    await file.save(HALTED);
    await file.save({ halted: false, reason: null, baseline: 9000 });
    expect(await file.load()).toEqual({
      kind: 'loaded',
      value: { halted: false, reason: null, baseline: 9000 },
    });
    expect(await readdir(join(dir, 'sub'))).toEqual(['risk-state.json']);
  });

  it('reports a truncated file as damaged', async () => {
    const file = new ChecksummedJsonFile<Latch>(path);
    await file.save(HALTED);
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, text.length - 5));
    const load = await file.load();
    expect(load.kind).toBe('damaged');
    expect(load.kind === 'damaged' && load.problem).toContain('not valid JSON');
  });

  it('reports an empty file as damaged, not absent', async () => {
    const file = new ChecksummedJsonFile<Latch>(path);
    await file.save(HALTED);
    await writeFile(path, '');
    expect((await file.load()).kind).toBe('damaged');
  });

  it('reports an edited value (checksum mismatch) as damaged', async () => {
    const file = new ChecksummedJsonFile<Latch>(path);
    await file.save(HALTED);
    await writeFile(path, (await readFile(path, 'utf8')).replace('"halted":true', '"halted":false'));
    const load = await file.load();
    expect(load).toEqual({ kind: 'damaged', problem: `${path} fails its checksum; edited or corrupted` });
  });

  it('reports valid JSON without the envelope as damaged', async () => {
    const file = new ChecksummedJsonFile<Latch>(path);
    await file.save(HALTED);
    for (const text of [JSON.stringify(HALTED), 'null', '[]', '{"version":1,"value":{}}']) {
      await writeFile(path, text);
      expect(await file.load()).toEqual({ kind: 'damaged', problem: `${path} lacks its checksum envelope` });
    }
  });

  it('reports a file of another version as damaged', async () => {
    await new ChecksummedJsonFile<Latch>(path, 1).save(HALTED);
    const load = await new ChecksummedJsonFile<Latch>(path, 2).load();
    expect(load).toEqual({ kind: 'damaged', problem: `${path} has version 1, expected 2` });
  });

  it('keeps every concurrent save intact and ends with the value saved last', async () => {
    const file = new ChecksummedJsonFile<Latch>(path);
    const values = Array.from({ length: 25 }, (_, i) => ({
      halted: i % 2 === 0,
      reason: 'r'.repeat(25 - i),
      baseline: i,
    }));
    await Promise.all(values.map((value) => file.save(value)));
    expect(await file.load()).toEqual({ kind: 'loaded', value: values[24] });
    expect(await readdir(join(dir, 'sub'))).toEqual(['risk-state.json']);
  });
});
