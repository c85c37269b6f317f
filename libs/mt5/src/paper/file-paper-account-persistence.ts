import { parsePaperAccountSnapshot, type PaperAccountSnapshot } from '@app/core';
import { readFileIfExists, writeFileAtomic } from '@app/state/atomic-file';
import type { PaperAccountPersistence } from './paper-broker-gateway';

/** Keeps the paper account in one JSON file, replaced atomically (a crash leaves the old or the new state). */
export class FilePaperAccountPersistence implements PaperAccountPersistence {
  constructor(readonly path: string) {}

  async save(snapshot: PaperAccountSnapshot): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify(snapshot));
  }
}

/**
 * The saved snapshot, or undefined when the file does not exist (first start). A file that is
 * not valid JSON or not a snapshot throws an Error naming the file: starting over with a fresh
 * balance would silently forget open positions, so an operator must look.
 */
export async function loadPaperAccountSnapshot(path: string): Promise<PaperAccountSnapshot | undefined> {
  const text = await readFileIfExists(path);
  if (text === undefined) return undefined;
  try {
    return parsePaperAccountSnapshot(JSON.parse(text));
  } catch (error) {
    throw new Error(`paper account state ${path} is corrupt: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
