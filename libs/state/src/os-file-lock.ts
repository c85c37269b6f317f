import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { lock as fcntlLock } from 'os-lock';

/** An exclusive lock the operating system holds for this process until `release` or its death. */
export interface HeldFileLock {
  release(): Promise<void>;
}

/** Paths this process holds: POSIX record locks never conflict within one process, so this does. */
const heldHere = new Set<string>();

/** The codes fcntl(F_SETLK) answers when another process holds a conflicting lock. */
const CONFLICT_CODES = new Set(['EACCES', 'EAGAIN', 'EBUSY']);

/**
 * Take an exclusive fcntl lock on `path` (created if missing), or answer `held` when another
 * process, or this one, holds it. The kernel drops the lock the instant the holder exits (kill -9
 * and OOM included, before the dead process is even reaped), and NFS and most cluster filesystems
 * carry fcntl locks between hosts, so, unlike a pid in a file, a dead holder can never block a
 * start and a live one always does.
 *
 * fcntl locks belong to the process and end when ANY descriptor of the file is closed, so the
 * lock file is never opened anywhere else, and it is never deleted (a new file would be a new lock).
 */
export async function tryLockFile(path: string): Promise<HeldFileLock | 'held'> {
  const key = resolve(path);
  // Reserved before the first await: two callers in this process must not both get past here.
  if (heldHere.has(key)) return 'held';
  heldHere.add(key);
  let handle: FileHandle | undefined;
  try {
    handle = await open(key, 'a', 0o600);
    await fcntlLock(handle.fd, { exclusive: true, immediate: true });
  } catch (error) {
    heldHere.delete(key);
    await handle?.close();
    if (CONFLICT_CODES.has((error as NodeJS.ErrnoException).code ?? '')) return 'held';
    throw new Error(`could not lock ${key}: ${String(error)}`, { cause: error });
  }
  const held = handle;
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      // Closing the only descriptor releases the lock.
      await held.close();
      heldHere.delete(key);
    },
  };
}
