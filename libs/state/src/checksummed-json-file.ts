import { createHash } from 'node:crypto';
import { readFileIfExists, writeFileAtomic } from './atomic-file';

/** What loading a checksummed file found. `damaged` means it exists but cannot be trusted. */
export type ChecksummedLoad<T> =
  { kind: 'absent' } | { kind: 'loaded'; value: T } | { kind: 'damaged'; problem: string };

interface Envelope {
  version: number;
  sha256: string;
  value: unknown;
}

const checksum = (json: string): string => createHash('sha256').update(json).digest('hex');

/**
 * A JSON document written atomically (temp, fsync, rename, fsync dir) inside an envelope with a
 * SHA-256 of its content, so a truncated or edited file is detected on load instead of trusted.
 */
export class ChecksummedJsonFile<T> {
  private saving: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly version = 1,
  ) {}

  async load(): Promise<ChecksummedLoad<T>> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return { kind: 'absent' };
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch (error) {
      return {
        kind: 'damaged',
        problem: `${this.path} is not valid JSON (${String(error)}); truncated or edited`,
      };
    }
    if (
      typeof envelope !== 'object' ||
      envelope === null ||
      typeof envelope.sha256 !== 'string' ||
      !('value' in envelope)
    ) {
      return { kind: 'damaged', problem: `${this.path} lacks its checksum envelope` };
    }
    if (envelope.version !== this.version) {
      return {
        kind: 'damaged',
        problem: `${this.path} has version ${String(envelope.version)}, expected ${this.version}`,
      };
    }
    if (checksum(JSON.stringify(envelope.value)) !== envelope.sha256) {
      return { kind: 'damaged', problem: `${this.path} fails its checksum; edited or corrupted` };
    }
    return { kind: 'loaded', value: envelope.value as T };
  }

  /** Saves run one after another in call order, so the value saved last is the one on disk. */
  save(value: T): Promise<void> {
    const json = JSON.stringify(value);
    const content = JSON.stringify({ version: this.version, sha256: checksum(json), value });
    const run = this.saving.then(() => writeFileAtomic(this.path, content));
    this.saving = run.catch(() => undefined);
    return run;
  }
}
