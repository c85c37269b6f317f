import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replace a file so that a crash at any instant leaves either the old or the new content, never
 * a torn mix: write a temp file, fsync it, rename over the target, fsync the directory.
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  // Unique per call: two writes of one file in the same millisecond must not share a temp file.
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', mode);
  try {
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    // A full disk must not also fill up with temp files, one per failed try.
    await unlink(temp).catch(() => undefined);
    throw new Error(`could not write ${path} (through ${temp}): ${String(error)}`, { cause: error });
  }
  await fsyncDirectory(dir);
}

/** Remove temp files a kill -9 left behind in the middle of `writeFileAtomic(path)`. */
export async function removeStaleTempFiles(path: string): Promise<number> {
  const prefix = `${basename(path)}.`;
  const names = (await readdir(dirname(path))).filter((n) => n.startsWith(prefix) && n.endsWith('.tmp'));
  await Promise.all(names.map((name) => unlink(join(dirname(path), name))));
  return names.length;
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The file's text, or undefined when it does not exist. Other errors propagate. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
