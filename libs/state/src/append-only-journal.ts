import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { removeStaleTempFiles, writeFileAtomic } from './atomic-file';

export interface JournalReplay<T> {
  records: T[];
  /** A last line cut short by a crash mid-write: skipped, expected after kill -9. */
  tornTail: boolean;
  /** Complete lines in the middle that do not parse: the file was damaged, not just cut. */
  corruptLines: number[];
}

/**
 * An append-only JSON-lines file whose `append` resolves only once the record is on disk
 * (fdatasync). Appends that arrive while a sync is running share the next sync (group commit),
 * so many concurrent writers cost one sync per batch instead of one each.
 *
 * A batch whose write or sync fails is rolled back (the file is cut back to the bytes of the
 * records already acknowledged), so the file never holds a record its writer was told had failed,
 * nor a half line that a later record would turn into damage in the middle. When even the rollback
 * fails, the journal refuses every later append: it fails closed rather than write after garbage.
 */
export class AppendOnlyJournal<T> {
  private handle: FileHandle | undefined;
  private pending: { line: string; resolve: () => void; reject: (error: Error) => void }[] = [];
  /** Set and cleared by `flush` itself, in the same turn it checks `pending`: no append is stranded. */
  private flushing = false;
  /** The flush in flight, for `close` to wait on. */
  private flushRun: Promise<void> = Promise.resolve();
  private closed = false;
  /**
   * How the file ended at replay: `unterminated` when its last record is whole but lacks its
   * newline, `torn` when a crash cut the last record short (then `completeBytes` is where the
   * last complete line ends).
   */
  private tail: 'clean' | 'unterminated' | 'torn' = 'clean';
  private completeBytes = 0;
  /** Bytes of acknowledged records: where a failed batch is cut back to. */
  private acknowledgedBytes = 0;
  /** Set when a failed batch could not be rolled back; every later append is refused with it. */
  private unusable: Error | undefined;

  constructor(readonly path: string) {}

  /** Read every complete record, then open the file for appending. */
  async open(): Promise<JournalReplay<T>> {
    await mkdir(dirname(this.path), { recursive: true });
    const replay = await this.replay();
    this.handle = await open(this.path, 'a', 0o600);
    if (this.tail === 'torn') {
      // Cut the partial record off (it was never acknowledged), so the next record starts on a line
      // of its own and a later replay does not mistake the cut line for damage in the middle.
      await this.handle.truncate(this.completeBytes);
      await this.handle.datasync();
    } else if (this.tail === 'unterminated') {
      // Terminate the whole last record so the next one starts on a line of its own.
      await this.handle.write('\n');
      await this.handle.datasync();
    }
    this.acknowledgedBytes = (await this.handle.stat()).size;
    return replay;
  }

  append(record: T): Promise<void> {
    if (this.handle === undefined || this.closed)
      return Promise.reject(new Error(`journal ${this.path} is not open`));
    if (this.unusable !== undefined) return Promise.reject(this.unusable);
    const line = `${JSON.stringify(record)}\n`;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      if (!this.flushing) this.flushRun = this.flush();
    });
  }

  /**
   * Replace the whole file with these records, atomically (a crash leaves the old file or the new
   * one), e.g. to drop records that later ones superseded. Only between `open` and the first append.
   */
  async rewrite(records: readonly T[]): Promise<void> {
    if (this.handle === undefined || this.closed || this.flushing || this.pending.length > 0)
      throw new Error(`journal ${this.path} can be rewritten only when open and idle`);
    await this.handle.close();
    this.handle = undefined;
    try {
      await removeStaleTempFiles(this.path);
      await writeFileAtomic(this.path, records.map((record) => `${JSON.stringify(record)}\n`).join(''));
    } finally {
      // Failed or not, the journal stays open for appends (on the old file when the rewrite failed).
      this.handle = await open(this.path, 'a', 0o600);
      this.acknowledgedBytes = (await this.handle.stat()).size;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // The flush in flight takes everything pending, also what is appended while it writes.
    while (this.flushing) await this.flushRun;
    await this.handle?.close();
    this.handle = undefined;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0 && this.handle !== undefined) {
        const batch = this.pending;
        this.pending = [];
        const unusable = this.unusable;
        if (unusable !== undefined) {
          for (const entry of batch) entry.reject(unusable);
          continue;
        }
        const bytes = Buffer.from(batch.map((entry) => entry.line).join(''), 'utf8');
        try {
          const { bytesWritten } = await this.handle.write(bytes);
          // A regular file takes a short write only when the disk is full: a failure, not a retry.
          if (bytesWritten !== bytes.length)
            throw new Error(`short write: ${bytesWritten} of ${bytes.length} bytes`);
          await this.handle.datasync();
          this.acknowledgedBytes += bytes.length;
          for (const entry of batch) entry.resolve();
        } catch (error) {
          const failure = new Error(`could not append to ${this.path}: ${String(error)}`, { cause: error });
          await this.rollBack(this.handle, failure);
          for (const entry of batch) entry.reject(failure);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Cut a failed batch off again; when that fails too, refuse every later append. No sync here:
   * the disk that just failed one would likely fail this one too, and the next acknowledged
   * append's fdatasync makes the shorter length durable along with its own record.
   */
  private async rollBack(handle: FileHandle, failure: Error): Promise<void> {
    if (this.unusable !== undefined) return;
    try {
      await handle.truncate(this.acknowledgedBytes);
    } catch (error) {
      this.unusable = new Error(
        `journal ${this.path} refuses appends: a failed write could not be rolled back (${String(error)}) after: ${failure.message}`,
        { cause: error },
      );
    }
  }

  private async replay(): Promise<JournalReplay<T>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return { records: [], tornTail: false, corruptLines: [] };
      throw new Error(`could not read journal ${this.path}: ${String(error)}`, { cause: error });
    }
    const lines = text.split('\n');
    const endsClean = text.length === 0 || text.endsWith('\n');
    const records: T[] = [];
    const corruptLines: number[] = [];
    let tornTail = false;
    lines.forEach((line, index) => {
      if (line.trim() === '') return;
      const isLast = index === lines.length - 1;
      try {
        records.push(JSON.parse(line) as T);
      } catch {
        if (isLast && !endsClean) tornTail = true;
        else corruptLines.push(index + 1);
      }
    });
    this.tail = endsClean ? 'clean' : tornTail ? 'torn' : 'unterminated';
    this.completeBytes = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1), 'utf8');
    return { records, tornTail, corruptLines };
  }
}
