import {
  FINAL_SIGNAL_STATUSES,
  type SignalLedger,
  type SignalLedgerRecord,
  type SignalStatus,
  type SignalTargets,
  type TradeSignal,
  type UnfinishedSignal,
} from '@app/core';
import { join } from 'node:path';
import { AppendOnlyJournal } from './append-only-journal';

/** The account a record without `account` (or a claim without `accounts`) is about: the single account of earlier versions. */
const LEGACY_ACCOUNT = 'default';

/**
 * One line of the journal. A claim carries the signal and the accounts that trade it (absent:
 * the one account `default`, as every line written before accounts existed) and those that
 * recorded it rejected; a step carries the account it is about (absent: `default`).
 */
interface LedgerLine extends SignalLedgerRecord {
  accounts?: string[];
  rejected?: string[];
  account?: string;
}

export interface SignalLedgerLoad {
  /** Per account, the signals an earlier run accepted for it that it never finished. */
  unfinished: Map<string, UnfinishedSignal[]>;
  known: number;
  problems: string[];
  /** False when the journal was damaged in the middle: ids may be missing, so duplicates cannot be ruled out. */
  trusted: boolean;
  /** Set when the journal was compacted at this start: its records before and after. */
  compacted?: { before: number; after: number };
}

/** A claimed signal some account has not finished yet: the signal, and each such account's status. */
interface OpenSignal {
  signal: TradeSignal;
  at: number;
  pending: Map<string, SignalStatus>;
}

/**
 * The durable record of every signal id this process has seen and of each account's work on it
 * (docs/accounts.md): a signal executes at most once per (account, signal), also across restarts
 * and `kill -9`. One append-only journal under STATE_DIR for every account of the process, so a
 * signal fanned out to a thousand accounts costs one claim record and one sync, and the steps of
 * all accounts share syncs (group commit).
 *
 * Every id is kept for ever (a duplicate is answered as one "also across restarts"), in memory as
 * one map entry; a signal's whole body only while some account has not finished it. `open`
 * compacts the journal: a finished id to one record (its last), an unfinished one to its claim
 * (the accounts still working on it) and their steps, so the file and the next start's replay grow
 * with the ids, not with the steps. A damaged journal is never compacted: it is kept as it is for
 * a person to read.
 */
export class FileSignalLedger implements SignalLedger {
  private readonly journal: AppendOnlyJournal<LedgerLine>;
  /** Every id, with the last status any account wrote for it. */
  private readonly statusById = new Map<string, SignalStatus>();
  private readonly unfinishedById = new Map<string, OpenSignal>();

  constructor(stateDir: string) {
    this.journal = new AppendOnlyJournal<LedgerLine>(join(stateDir, 'signals.jsonl'));
  }

  async open(): Promise<SignalLedgerLoad> {
    const replay = await this.journal.open();
    const lastById = new Map<string, LedgerLine>();
    let foreign = 0;
    for (const line of replay.records) {
      if (typeof line?.id !== 'string' || typeof line.status !== 'string') {
        foreign++;
        continue;
      }
      this.apply(line);
      lastById.set(line.id, line);
    }
    const unfinished = new Map<string, UnfinishedSignal[]>();
    for (const entry of this.unfinishedById.values())
      for (const [account, status] of entry.pending) {
        const list = unfinished.get(account) ?? [];
        list.push({ signal: entry.signal, status });
        unfinished.set(account, list);
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
    if (trusted && foreign === 0) {
      const compacted = this.compacted(lastById);
      if (compacted.length < replay.records.length) {
        try {
          await this.journal.rewrite(compacted);
          load.compacted = { before: replay.records.length, after: compacted.length };
        } catch (error) {
          // Compaction saves space and start-up time; failing it (a full disk) must not stop the service.
          problems.push(`${this.journal.path}: not compacted: ${String(error)}`);
        }
      }
    }
    return load;
  }

  has(id: string): boolean {
    return this.statusById.has(id);
  }

  seen(id: string): boolean {
    return this.statusById.has(id);
  }

  /** The last status any account wrote for `id`. */
  status(id: string): SignalStatus | undefined {
    return this.statusById.get(id);
  }

  /** One account's status of an unfinished signal (undefined once it finished there, or if it never went there). */
  pendingStatus(accountId: string, id: string): SignalStatus | undefined {
    return this.unfinishedById.get(id)?.pending.get(accountId);
  }

  /**
   * Claims an id for its target accounts in one record. Resolves `claimed` once that record is on
   * disk, `duplicate` when the id was seen before. The in-memory claim happens synchronously, so
   * two concurrent requests with one id cannot both win.
   */
  async claim(signal: TradeSignal, targets: SignalTargets, at: number): Promise<'claimed' | 'duplicate'> {
    if (this.statusById.has(signal.id)) return 'duplicate';
    const line = claimLine(signal, targets, at);
    this.apply(line);
    try {
      await this.journal.append(line);
    } catch (error) {
      // Not durable: release the claim so the sender's retry is not answered "duplicate" for a signal we never kept.
      this.statusById.delete(signal.id);
      this.unfinishedById.delete(signal.id);
      throw error;
    }
    return 'claimed';
  }

  /** Moves one account's work on a known signal on; durable when the promise resolves. */
  async update(
    accountId: string,
    id: string,
    status: SignalStatus,
    at: number,
    details: Omit<SignalLedgerRecord, 'id' | 'status' | 'at'> = {},
  ): Promise<void> {
    const line: LedgerLine = { id, status, at, ...details };
    if (accountId !== LEGACY_ACCOUNT) line.account = accountId;
    this.apply(line);
    await this.journal.append(line);
  }

  close(): Promise<void> {
    return this.journal.close();
  }

  /** What a line means for the in-memory ledger, at replay and when written. */
  private apply(line: LedgerLine): void {
    this.statusById.set(line.id, line.status);
    if (line.signal !== undefined) {
      const accounts = line.accounts ?? [LEGACY_ACCOUNT];
      // A legacy line carries the default account's own status (accepted, or approved once compacted).
      const initial: SignalStatus = line.accounts === undefined ? line.status : 'accepted';
      if (accounts.length === 0 || FINAL_SIGNAL_STATUSES.has(initial)) return;
      this.unfinishedById.set(line.id, {
        signal: line.signal,
        at: line.at,
        pending: new Map(accounts.map((account) => [account, initial])),
      });
      return;
    }
    const entry = this.unfinishedById.get(line.id);
    if (entry === undefined) return; // finished everywhere already, or a claim that opened nothing
    const account = line.account ?? LEGACY_ACCOUNT;
    if (!entry.pending.has(account)) return;
    if (FINAL_SIGNAL_STATUSES.has(line.status)) {
      entry.pending.delete(account);
      if (entry.pending.size === 0) this.unfinishedById.delete(line.id);
    } else entry.pending.set(account, line.status);
  }

  /**
   * The journal rewritten: a finished id as its last line (without the signal), an unfinished one
   * as its claim for the accounts still on it, plus their `approved` steps.
   */
  private compacted(lastById: ReadonlyMap<string, LedgerLine>): LedgerLine[] {
    const lines: LedgerLine[] = [];
    for (const [id, last] of lastById) {
      const entry = this.unfinishedById.get(id);
      if (entry === undefined) {
        const tombstone: LedgerLine = { ...last };
        delete tombstone.signal;
        delete tombstone.accounts;
        delete tombstone.rejected;
        delete tombstone.account;
        lines.push(tombstone);
        continue;
      }
      const accounts = [...entry.pending.keys()];
      if (accounts.length === 1 && accounts[0] === LEGACY_ACCOUNT) {
        // The single account's shape, as before accounts existed: its status and the signal.
        lines.push({
          id,
          status: entry.pending.get(LEGACY_ACCOUNT) ?? 'accepted',
          at: last.at,
          signal: entry.signal,
        });
        continue;
      }
      lines.push({ id, status: 'accepted', at: entry.at, signal: entry.signal, accounts });
      for (const [account, status] of entry.pending)
        if (status !== 'accepted')
          lines.push({ id, status, at: last.at, ...(account === LEGACY_ACCOUNT ? {} : { account }) });
    }
    return lines;
  }
}

/**
 * The claim line. The single account's claims keep the shape of earlier versions (no `accounts`),
 * so a STATE_DIR stays readable both ways; the signal is stored without its `accounts` list (the
 * line's own `accounts` is what counts).
 */
function claimLine(signal: TradeSignal, targets: SignalTargets, at: number): LedgerLine {
  const stored: TradeSignal = { ...signal };
  delete stored.accounts;
  const { accepted, rejected, reason } = targets;
  const onlyDefault = (list: readonly string[]) => list.length === 1 && list[0] === LEGACY_ACCOUNT;
  if (onlyDefault(accepted) && rejected.length === 0)
    return { id: signal.id, status: 'accepted', at, signal: stored };
  if (accepted.length === 0 && onlyDefault(rejected))
    return { id: signal.id, status: 'rejected', at, ...(reason === undefined ? {} : { reason }) };
  const line: LedgerLine = { id: signal.id, status: accepted.length > 0 ? 'accepted' : 'rejected', at };
  if (accepted.length > 0) {
    line.signal = stored;
    line.accounts = [...accepted];
  }
  if (rejected.length > 0) {
    line.rejected = [...rejected];
    if (reason !== undefined) line.reason = reason;
  }
  return line;
}
