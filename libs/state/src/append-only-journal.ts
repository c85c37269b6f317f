import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

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
 */
export class AppendOnlyJournal<T> {
  private handle: FileHandle | undefined;
  private pending: { line: string; resolve: () => void; reject: (error: Error) => void }[] = [];
  private flushing = false;
  private closed = false;
  /**
   * How the file ended at replay: `unterminated` when its last record is whole but lacks its
   * newline, `torn` when a crash cut the last record short (then `completeBytes` is where the
   * last complete line ends).
   */
  private tail: 'clean' | 'unterminated' | 'torn' = 'clean';
  private completeBytes = 0;

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
    return replay;
  }

  append(record: T): Promise<void> {
    if (this.handle === undefined || this.closed)
      return Promise.reject(new Error(`journal ${this.path} is not open`));
    const line = `${JSON.stringify(record)}\n`;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.pending.length > 0) await new Promise((r) => setTimeout(r, 1));
    await this.handle?.close();
    this.handle = undefined;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0 && this.handle !== undefined) {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.handle.write(batch.map((entry) => entry.line).join(''));
          await this.handle.datasync();
          for (const entry of batch) entry.resolve();
        } catch (error) {
          const failure = new Error(`could not append to ${this.path}: ${String(error)}`, { cause: error });
          for (const entry of batch) entry.reject(failure);
        }
      }
    } finally {
      this.flushing = false;
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
