import {
  FINAL_SIGNAL_STATUSES,
  type SignalLedger,
  type SignalLedgerRecord,
  type SignalStatus,
  type TradeSignal,
  type UnfinishedSignal,
} from '@app/core';
import { join } from 'node:path';
import { AppendOnlyJournal } from './append-only-journal';

export interface SignalLedgerLoad {
  /** Signals accepted in an earlier run that never reached a final status. */
  unfinished: UnfinishedSignal[];
  known: number;
  problems: string[];
  /** False when the journal was damaged in the middle: ids may be missing, so duplicates cannot be ruled out. */
  trusted: boolean;
  /** Set when the journal was compacted at this start: its records before and after. */
  compacted?: { before: number; after: number };
}

/**
 * The durable record of every signal id this service has seen, so that a signal is executed at
 * most once, also across restarts and `kill -9`. An append-only journal under STATE_DIR.
 *
 * Every id is kept for ever (docs/service.md: a duplicate is answered as one "also across restarts"),
 * in memory as one map entry. The journal holds a record per step of a signal; `open` compacts it
 * to one record per id (the last, with the signal kept only while it is unfinished), so the file
 * and the next start's replay grow with the ids, not with the steps. A damaged journal is never
 * compacted: it is kept as it is for a person to read.
 */
export class FileSignalLedger implements SignalLedger {
  private readonly journal: AppendOnlyJournal<SignalLedgerRecord>;
  private readonly statusById = new Map<string, SignalStatus>();

  constructor(stateDir: string) {
    this.journal = new AppendOnlyJournal<SignalLedgerRecord>(join(stateDir, 'signals.jsonl'));
  }

  async open(): Promise<SignalLedgerLoad> {
    const replay = await this.journal.open();
    const signals = new Map<string, TradeSignal>();
    const lastById = new Map<string, SignalLedgerRecord>();
    let foreign = 0;
    for (const record of replay.records) {
      if (typeof record?.id !== 'string' || typeof record.status !== 'string') {
        foreign++;
        continue;
      }
      this.statusById.set(record.id, record.status);
      lastById.set(record.id, record);
      if (record.signal !== undefined) signals.set(record.id, record.signal);
    }
    const unfinished: SignalLedgerLoad['unfinished'] = [];
    for (const [id, status] of this.statusById) {
      const signal = signals.get(id);
      if (!FINAL_SIGNAL_STATUSES.has(status) && signal !== undefined) unfinished.push({ signal, status });
    }
    const problems: string[] = [];
    if (replay.tornTail) problems.push(`${this.journal.path}: skipped a last line cut short by a crash`);
    if (replay.corruptLines.length > 0)
      problems.push(`${this.journal.path}: damaged lines ${replay.corruptLines.slice(0, 10).join(', ')}`);
    if (foreign > 0)
      problems.push(`${this.journal.path}: skipped ${foreign} line(s) that are not signal records`);
    const trusted = replay.corruptLines.length === 0;
    const load: SignalLedgerLoad = { unfinished, known: this.statusById.size, problems, trusted };
    // Only a clean journal is compacted: damage or foreign lines stay for a person to read.
    if (trusted && foreign === 0 && replay.records.length > lastById.size) {
      try {
        await this.journal.rewrite(compactRecords(lastById, signals));
        load.compacted = { before: replay.records.length, after: lastById.size };
      } catch (error) {
        // Compaction saves space and start-up time; failing it (a full disk) must not stop the service.
        problems.push(`${this.journal.path}: not compacted: ${String(error)}`);
      }
    }
    return load;
  }

  has(id: string): boolean {
    return this.statusById.has(id);
  }

  status(id: string): SignalStatus | undefined {
    return this.statusById.get(id);
  }

  /**
   * Claim an id. Resolves `true` once the claim is on disk, `false` when the id was seen before.
   * The in-memory claim happens synchronously, so two concurrent requests with one id cannot both win.
   */
  async claim(
    signal: TradeSignal,
    status: 'accepted' | 'rejected',
    at: number,
    reason?: string,
  ): Promise<boolean> {
    if (this.statusById.has(signal.id)) return false;
    this.statusById.set(signal.id, status);
    const record: SignalLedgerRecord = { id: signal.id, status, at };
    if (status === 'accepted') record.signal = signal;
    if (reason !== undefined) record.reason = reason;
    try {
      await this.journal.append(record);
    } catch (error) {
      // Not durable: release the claim so the sender's retry is not answered "duplicate" for a signal we never kept.
      this.statusById.delete(signal.id);
      throw error;
    }
    return true;
  }

  /** Move a known signal on; durable when the promise resolves. */
  async update(
    id: string,
    status: SignalStatus,
    at: number,
    details: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'> = {},
  ): Promise<void> {
    this.statusById.set(id, status);
    await this.journal.append({ id, status, at, ...details });
  }

  close(): Promise<void> {
    return this.journal.close();
  }
}

/** One record per id: its last, carrying the signal only while the signal is unfinished. */
function compactRecords(
  lastById: ReadonlyMap<string, SignalLedgerRecord>,
  signals: ReadonlyMap<string, TradeSignal>,
): SignalLedgerRecord[] {
  return [...lastById.values()].map((last) => {
    const record: SignalLedgerRecord = { ...last };
    delete record.signal;
    const signal = signals.get(last.id);
    if (!FINAL_SIGNAL_STATUSES.has(last.status) && signal !== undefined) record.signal = signal;
    return record;
  });
}
