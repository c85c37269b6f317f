import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  HistoryAppendError,
  type HistoryEvent,
  type HistoryStore,
  type HistoryWindow,
  type RetentionPolicy,
  type TradingEventType,
} from '@app/core';
import { fsyncDirectory } from '../atomic-file';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** How often at most each history file is synced to disk (see FileHistoryStore.appendToFile). */
const HISTORY_SYNC_EVERY_MS = 10_000;
/**
 * Files written at once in one append: few, so that history leaves libuv's thread pool to the
 * trading writes (a fan-out to 1,000 paper accounts waited on it: p99 320 ms at 16, 215 at 2).
 */
const WRITE_CONCURRENCY = 2;
const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;

export interface FileHistoryStoreOptions {
  /** An account's directory (docs/accounts.md): its history is `<dir>/history/<UTC day>.jsonl`. */
  accountDir: (accountId: string) => string;
  /** The accounts whose history retention looks at (those written to since start are added). */
  accountIds: readonly string[];
  /** A line that is not JSON (a write torn by a crash): skipped, and said here. */
  onProblem?: (message: string) => void;
  /** Wall-clock ms (tests); `Date.now` by default. */
  now?: () => number;
}

/**
 * History in files (docs/history.md): per account, one append-only JSON-lines file per UTC day,
 * so rotation is by day and retention deletes whole files. `read` streams the window's days line
 * by line; `prune` deletes days past retention and thins equity samples older than 24 h to one per
 * minute by rewriting that day's file atomically (temp file, fsync, rename). Appends and rewrites
 * of one file are serialised in this process; only the process that owns STATE_DIR writes here.
 */
export class FileHistoryStore implements HistoryStore {
  private readonly knownAccounts: Set<string>;
  private readonly fileQueues = new Map<string, Promise<unknown>>();
  /** Days already thinned for good (wholly older than the dense period), not read again until a restart. */
  private readonly thinnedDays = new Set<string>();

  /** When each file was last synced (see appendToFile). */
  private readonly syncedAt = new Map<string, number>();
  /** Files whose end this run has checked (see appendToFile). */
  private readonly checkedTails = new Set<string>();

  constructor(private readonly options: FileHistoryStoreOptions) {
    this.knownAccounts = new Set(options.accountIds);
  }

  async append(events: readonly HistoryEvent[]): Promise<void> {
    // Grouped here; serialised per file inside the writers, between their awaits, so that a large
    // batch never holds the event loop (and the signal path) for the whole of it.
    const files = new Map<string, HistoryEvent[]>();
    for (const event of events) {
      this.knownAccounts.add(event.account_id);
      const path = this.dayFile(event.account_id, dayOf(event.at));
      const ofFile = files.get(path) ?? [];
      ofFile.push(event);
      files.set(path, ofFile);
    }
    const pending = [...files];
    const failed = new Set<string>();
    let firstError: unknown;
    const worker = async (): Promise<void> => {
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
        const [path, ofFile] = next;
        try {
          const text = `${ofFile.map((event) => JSON.stringify(event)).join('\n')}\n`;
          await this.serialised(path, () => this.appendToFile(path, text));
        } catch (error) {
          failed.add(path);
          firstError ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, pending.length) }, worker));
    // Only what did not reach its file is given back, so a retry never writes a line twice.
    if (failed.size > 0)
      throw new HistoryAppendError(
        events.filter((event) => failed.has(this.dayFile(event.account_id, dayOf(event.at)))),
        firstError,
      );
  }

  /**
   * The first append of this run to a file makes sure it ends with a newline: a crash may have
   * torn its last line, and the next line must not be glued to the torn one (both would be lost).
   */
  private async appendToFile(path: string, text: string): Promise<void> {
    if (!this.checkedTails.has(path)) {
      if (await endsTorn(path)) text = `\n${text}`;
      this.checkedTails.add(path);
    }
    // History is a record, not state that decides trading: each file is synced at most every
    // HISTORY_SYNC_EVERY_MS, not at every flush (with 2,000 accounts, one equity sample each a
    // second, a sync per file per flush would be 2,000 fdatasyncs a second). A killed process
    // loses nothing (the page cache has it); a power cut, at most that much of the record.
    const now = this.options.now?.() ?? Date.now();
    const due = now - (this.syncedAt.get(path) ?? 0) >= HISTORY_SYNC_EVERY_MS;
    await appendToDisk(path, text, due);
    if (due) this.syncedAt.set(path, now);
  }

  async *read(
    accountId: string,
    window: HistoryWindow,
    types?: readonly TradingEventType[],
  ): AsyncIterable<HistoryEvent> {
    const wanted = types === undefined ? undefined : new Set<string>(types);
    for (let day = startOfDay(window.from); day < window.to; day += DAY_MS) {
      const path = this.dayFile(accountId, dayOf(day));
      for await (const event of this.linesOf(path)) {
        if (event.at < window.from || event.at >= window.to) continue;
        if (wanted !== undefined && !wanted.has(event.type)) continue;
        yield event;
      }
    }
  }

  async prune(now: number, policy: RetentionPolicy): Promise<number> {
    const retainFrom = now - policy.retainMs;
    const denseFrom = now - policy.denseEquityMs;
    let removed = 0;
    for (const accountId of this.knownAccounts) {
      const dir = this.historyDir(accountId);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      for (const name of names.sort()) {
        const day = DAY_FILE.exec(name)?.[1];
        if (day === undefined) continue;
        const start = Date.parse(`${day}T00:00:00Z`);
        const path = join(dir, name);
        if (start + DAY_MS <= retainFrom) {
          removed += await this.serialised(path, () => deleteCounting(path));
        } else if (start < denseFrom && !this.thinnedDays.has(path)) {
          removed += await this.serialised(path, () => this.thin(path, denseFrom, retainFrom));
          if (start + DAY_MS <= denseFrom) this.thinnedDays.add(path);
        }
      }
    }
    return removed;
  }

  private historyDir(accountId: string): string {
    return join(this.options.accountDir(accountId), 'history');
  }

  private dayFile(accountId: string, day: string): string {
    return join(this.historyDir(accountId), `${day}.jsonl`);
  }

  /**
   * Rewrites a day keeping every event, except equity samples older than `denseFrom` beyond the
   * first of their minute, and anything older than `retainFrom`; untouched when nothing goes.
   */
  private async thin(path: string, denseFrom: number, retainFrom: number): Promise<number> {
    const temp = `${path}.${process.pid}.thin.tmp`;
    const out = createWriteStream(temp, { mode: 0o600 });
    const minutesKept = new Set<number>();
    let removed = 0;
    try {
      for await (const line of rawLines(path)) {
        const event = this.parse(line, path);
        if (event === undefined) continue;
        if (event.at < retainFrom) {
          removed++;
          continue;
        }
        if (event.type === 'equity_sample' && event.at < denseFrom) {
          const minute = Math.floor(event.at / MINUTE_MS);
          if (minutesKept.has(minute)) {
            removed++;
            continue;
          }
          minutesKept.add(minute);
        }
        if (!out.write(`${line}\n`)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      if (removed === 0) {
        await unlink(temp);
        return 0;
      }
      const handle = await open(temp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
      await fsyncDirectory(join(path, '..'));
      return removed;
    } catch (error) {
      out.destroy();
      await unlink(temp).catch(() => undefined);
      throw new Error(`could not thin ${path}: ${String(error)}`, { cause: error });
    }
  }

  private async *linesOf(path: string): AsyncIterable<HistoryEvent> {
    for await (const line of rawLines(path)) {
      const event = this.parse(line, path);
      if (event !== undefined) yield event;
    }
  }

  private parse(line: string, path: string): HistoryEvent | undefined {
    if (line === '') return undefined;
    try {
      return JSON.parse(line) as HistoryEvent;
    } catch (error) {
      this.options.onProblem?.(`history: skipped a line of ${path} that is not JSON (${String(error)})`);
      return undefined;
    }
  }

  /** Runs `task` after every earlier task on the same file (appends and rewrites never interleave). */
  private serialised<T>(path: string, task: () => Promise<T>): Promise<T> {
    const previous = this.fileQueues.get(path) ?? Promise.resolve();
    const result = previous.then(task, task);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.fileQueues.set(path, settled);
    void settled.then(() => {
      if (this.fileQueues.get(path) === settled) this.fileQueues.delete(path);
    });
    return result;
  }
}

/** A file's lines, streamed; none when it does not exist. */
async function* rawLines(path: string): AsyncIterable<string> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    await once(stream, 'open');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) yield line;
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** A file that exists and does not end with a newline (its last line was torn). */
async function endsTorn(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await handle.close();
  }
}

async function appendToDisk(path: string, text: string, sync: boolean): Promise<void> {
  const handle = await open(path, 'a', 0o600).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    await mkdir(join(path, '..'), { recursive: true });
    return open(path, 'a', 0o600);
  });
  try {
    await handle.writeFile(text, 'utf8');
    if (sync) await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function deleteCounting(path: string): Promise<number> {
  let count = 0;
  for await (const line of rawLines(path)) if (line !== '') count++;
  await unlink(path);
  return count;
}

function startOfDay(at: number): number {
  return Math.floor(at / DAY_MS) * DAY_MS;
}

/** The UTC day of an instant, `YYYY-MM-DD`. */
function dayOf(at: number): string {
  return new Date(startOfDay(at)).toISOString().slice(0, 10);
}
