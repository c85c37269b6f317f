import { open as openFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  PaperAccount,
  parsePaperAccountSnapshot,
  parsePaperChange,
  type PaperAccountOptions,
  type PaperAccountSnapshot,
  type PaperAccountStore,
  type PaperChange,
} from '@app/core';
import { AppendOnlyJournal } from '@app/state/append-only-journal';
import { readFileIfExists, writeFileAtomic } from '@app/state/atomic-file';

export const PAPER_SNAPSHOT_FILE = 'paper-account.json';
export const PAPER_JOURNAL_FILE = 'paper-account.journal.jsonl';

/** `paper-account.json`: the account as of journal record `journal_seq` (0: no record included). */
export interface PaperAccountSnapshotFile {
  journal_seq: number;
  snapshot: PaperAccountSnapshot;
}

/**
 * One line of `paper-account.journal.jsonl`: `seq` numbers the lines (the store's own count, to
 * skip lines a snapshot already holds); `change.number` is the account's change number, which
 * orders the replay.
 */
export interface PaperJournalRecord {
  seq: number;
  change: PaperChange;
}

/** What `open` found, for the log. */
export interface PaperStoreOpened {
  /** The snapshot's `journal_seq`, or undefined when there was no snapshot (first start). */
  snapshotSeq: number | undefined;
  /** Changes applied on top of the snapshot (one per change number). */
  replayed: number;
  /**
   * Journal records not needed: already in the snapshot (a crash between its write and the
   * journal's truncation), or an earlier record of a change recorded again.
   */
  skipped: number;
  /**
   * Changes found in the journal beyond a missing one, not applied: their trades were answered
   * `unknown_outcome` and are retried by request id (see PaperBrokerGateway). 0 after a clean stop.
   */
  dropped: number;
  /** The first change number missing from the journal, when `dropped` > 0. */
  missingChange: number | undefined;
  /** The change number the account was restored to. */
  lastChange: number;
  /** The journal's last line was cut short by a crash mid-write and was dropped (never acknowledged). */
  tornTail: boolean;
}

/** Which journal records a restart applies: see `planPaperReplay`. */
export interface PaperReplayPlan {
  /** The changes to apply, in number order (numbered, old records included), from the snapshot's next one. */
  changes: PaperChange[];
  skipped: number;
  dropped: number;
  missingChange: number | undefined;
  /** The highest record `seq` seen (the snapshot's `journal_seq` without any): new records go above it. */
  lastSeq: number;
}

/**
 * The paper account on disk as a snapshot plus an append-only journal, so a trade costs one
 * small appended line (group-committed with its neighbours) instead of a rewrite of the whole
 * account. `open` loads the snapshot, replays the journal records after it, and compacts (a new
 * snapshot, then an empty journal); `close` compacts again. Between the two steps of a compaction
 * a crash is harmless: records at or below the snapshot's `journal_seq` are skipped on replay.
 *
 * The replay applies the account's changes by change number, from the one after the snapshot's
 * `lastChange`, and stops at the first number missing: every change carries absolute totals, so
 * one applied without an earlier one would mix two moments (a stop loss's loss booked with its
 * position still open). What it finds beyond the gap is dropped (`PaperStoreOpened.dropped`): the
 * gateway answered those trades `unknown_outcome`, and their retries execute them again.
 */
export class FilePaperAccountStore implements PaperAccountStore {
  readonly snapshotPath: string;
  readonly journalPath: string;
  private journal: AppendOnlyJournal<PaperJournalRecord> | undefined;
  private account: PaperAccount | undefined;
  private seq = 0;
  private found: PaperStoreOpened | undefined;

  constructor(readonly dir: string) {
    this.snapshotPath = join(dir, PAPER_SNAPSHOT_FILE);
    this.journalPath = join(dir, PAPER_JOURNAL_FILE);
  }

  /**
   * The account as it was after the last durable record. Throws an Error naming the file when
   * the snapshot or a journal line in the middle is damaged: starting over with a fresh balance
   * would silently forget open positions, so an operator must look.
   */
  async open(options: PaperAccountOptions): Promise<PaperAccount> {
    if (this.journal !== undefined) throw new Error(`paper account store ${this.dir} is already open`);
    const saved = await loadPaperAccountSnapshotFile(this.snapshotPath);
    const replaying = new AppendOnlyJournal<unknown>(this.journalPath);
    const replay = await replaying.open();
    await replaying.close();
    if (replay.corruptLines.length > 0) {
      throw new Error(
        `paper account journal ${this.journalPath} is corrupt at line(s) ${replay.corruptLines.join(', ')}`,
      );
    }
    const snapshotSeq = saved?.journal_seq ?? 0;
    const records = replay.records.map((value, i) => parseRecord(value, this.journalPath, i));
    const lastChange = saved?.snapshot.lastChange ?? 0;
    const plan = planPaperReplay(records, snapshotSeq, lastChange, this.journalPath);
    // Symbols of journaled positions stay quoted even when PAPER_SYMBOLS dropped them, as for the snapshot's.
    const symbols = [
      ...new Set([
        ...options.symbols,
        ...plan.changes.flatMap((change) => (change.position ? [change.position.symbol] : [])),
      ]),
    ];
    const account =
      saved === undefined
        ? new PaperAccount({ ...options, symbols })
        : PaperAccount.restore(saved.snapshot, { ...options, symbols });
    for (const change of plan.changes) {
      try {
        account.applyChange(change);
      } catch (error) {
        throw new Error(
          `paper account journal ${this.journalPath}: change ${change.number} cannot be applied: ${messageOf(error)}`,
          { cause: error },
        );
      }
    }
    // Above every record seen, the dropped ones included: the compaction's journal_seq covers them,
    // so a crash before the journal is emptied cannot bring them back.
    this.seq = plan.lastSeq;
    this.account = account;
    await this.compact();
    const journal = new AppendOnlyJournal<PaperJournalRecord>(this.journalPath);
    await journal.open();
    this.journal = journal;
    this.found = {
      snapshotSeq: saved?.journal_seq,
      replayed: plan.changes.length,
      skipped: plan.skipped,
      dropped: plan.dropped,
      missingChange: plan.missingChange,
      lastChange: account.lastChange,
      tornTail: replay.tornTail,
    };
    return account;
  }

  /** What the last `open` found on disk, for the log; undefined before it. */
  get opened(): PaperStoreOpened | undefined {
    return this.found;
  }

  /** Appends the change; resolves once it is on disk. Any order: the replay orders by change number. */
  record(change: PaperChange): Promise<void> {
    if (this.journal === undefined)
      return Promise.reject(new Error(`paper account store ${this.dir} is not open`));
    this.seq += 1;
    return this.journal.append({ seq: this.seq, change });
  }

  /** Waits for the records in flight, then compacts. Records after this fail. */
  async close(): Promise<void> {
    const journal = this.journal;
    if (journal === undefined) return;
    this.journal = undefined;
    await journal.close();
    await this.compact();
  }

  /** Snapshot first, then the journal emptied: a crash in between leaves records the snapshot already holds. */
  private async compact(): Promise<void> {
    if (this.account === undefined) return;
    const file: PaperAccountSnapshotFile = { journal_seq: this.seq, snapshot: this.account.snapshot() };
    await writeFileAtomic(this.snapshotPath, JSON.stringify(file));
    await truncateFile(this.journalPath);
  }
}

/**
 * The saved snapshot file, or undefined when it does not exist (first start). The format before
 * the journal, a bare snapshot, reads as `journal_seq` 0. Damage throws an Error naming the file.
 */
export async function loadPaperAccountSnapshotFile(
  path: string,
): Promise<PaperAccountSnapshotFile | undefined> {
  const text = await readFileIfExists(path);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && 'snapshot' in value) {
      const { journal_seq: seq, snapshot } = value as { journal_seq?: unknown; snapshot: unknown };
      if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0)
        throw new Error('journal_seq must be a whole number');
      return { journal_seq: seq, snapshot: parsePaperAccountSnapshot(snapshot) };
    }
    return { journal_seq: 0, snapshot: parsePaperAccountSnapshot(value) };
  } catch (error) {
    throw new Error(`paper account state ${path} is corrupt: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Which records a restart applies on a snapshot holding `journalSeq` (records) and `lastChange`
 * (changes): records above `journalSeq`, by change number from `lastChange + 1`, the last record
 * written for each number, up to the first number missing. A record without a number (a journal
 * from before change numbers) follows the record before it. Throws (naming `path`) when record
 * seqs do not grow.
 */
export function planPaperReplay(
  records: readonly PaperJournalRecord[],
  journalSeq: number,
  lastChange: number,
  path: string,
): PaperReplayPlan {
  const latest = new Map<number, PaperChange>();
  let skipped = 0;
  let seq = journalSeq;
  let previous = lastChange;
  for (const record of records) {
    if (record.seq <= journalSeq) {
      skipped += 1;
      continue;
    }
    if (record.seq <= seq)
      throw new Error(`paper account journal ${path} is corrupt: seq ${record.seq} follows ${seq}`);
    seq = record.seq;
    const number = record.change.number ?? previous + 1;
    previous = number;
    if (number <= lastChange || latest.has(number)) skipped += 1;
    if (number > lastChange) latest.set(number, { ...record.change, number });
  }
  const changes: PaperChange[] = [];
  for (let n = lastChange + 1; ; n++) {
    const change = latest.get(n);
    if (change === undefined) break;
    changes.push(change);
  }
  const dropped = latest.size - changes.length;
  return {
    changes,
    skipped,
    dropped,
    missingChange: dropped > 0 ? lastChange + changes.length + 1 : undefined,
    lastSeq: seq,
  };
}

function parseRecord(value: unknown, path: string, index: number): PaperJournalRecord {
  try {
    if (typeof value !== 'object' || value === null) throw new Error('record must be an object');
    const { seq, change } = value as { seq?: unknown; change?: unknown };
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1)
      throw new Error('seq must be a positive whole number');
    return { seq, change: parsePaperChange(change) };
  } catch (error) {
    throw new Error(
      `paper account journal ${path} is corrupt: complete record ${index + 1}: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

/** Empties the file and makes that durable; a missing file is already empty. */
async function truncateFile(path: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await openFile(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`could not open ${path} to empty it: ${messageOf(error)}`, { cause: error });
  }
  try {
    await handle.truncate(0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
