import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from './atomic-file';

describe('writeFileAtomic', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'atomic-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the content with the given mode, creating the directory, and leaves no temp file', async () => {
    const path = join(dir, 'a', 'b', 'secret');
    await writeFileAtomic(path, 'token\n', 0o600);
    expect(await readFile(path, 'utf8')).toBe('token\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['secret']);
  });

  it('survives many writes of one file in the same instant: each resolves and the file holds one whole content', async () => {
    const path = join(dir, 'state.json');
    const contents = Array.from({ length: 30 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(30 - i) }));
    await Promise.all(contents.map((content) => writeFileAtomic(path, content)));
    expect(contents).toContain(await readFile(path, 'utf8'));
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('readFileIfExists answers undefined for a missing file and the text otherwise', async () => {
    expect(await readFileIfExists(join(dir, 'missing'))).toBeUndefined();
    await writeFileAtomic(join(dir, 'present'), 'x');
    expect(await readFileIfExists(join(dir, 'present'))).toBe('x');
  });
});
