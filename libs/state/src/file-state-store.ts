import { mkdir } from 'node:fs/promises';
import type { AccountState, StateBackend, StateLoadReport } from '@app/core';
import { FileAuditLog } from './file-audit-log';
import { FileRiskStateStore } from './file-risk-state-store';
import { FileSignalLedger, type SignalLedgerLoad } from './file-signal-ledger';
import { StateDirLock, type StateDirLockOptions } from './state-dir-lock';

/**
 * Durable state as files under STATE_DIR (the files backend), owned by one process at a time
 * (state-dir-lock.ts): the signal ledger of every account (`signals.jsonl`), and per account its
 * `risk-state.json` (checksummed) and `audit.jsonl` in the account's directory (`accountDir`). It
 * hands out the core's ports, nothing more.
 */
export class FileStateStore implements StateBackend {
  readonly ledger: FileSignalLedger;
  private readonly lock: StateDirLock | undefined;
  private readonly audits: FileAuditLog[] = [];
  private ledgerLoad: SignalLedgerLoad | undefined;
  /** Why the lock could be taken (an earlier owner that is gone, or none). */
  lockTakenBecause: string | undefined;

  /**
   * `accountDir` says where an account's files live; without `lock` options nothing guards against
   * a second process (unit tests of the files only).
   */
  constructor(
    readonly stateDir: string,
    private readonly accountDir: (accountId: string) => string,
    lock?: StateDirLockOptions,
  ) {
    this.lock = lock === undefined ? undefined : new StateDirLock(stateDir, lock);
    this.ledger = new FileSignalLedger(stateDir);
  }

  /** Takes STATE_DIR and replays the ledger; every account's state opens after this. */
  async open(): Promise<SignalLedgerLoad> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    // Before any file is read: a second process must not even compact the ledger under the first.
    this.lockTakenBecause = await this.lock?.acquire();
    this.ledgerLoad = await this.ledger.open();
    return this.ledgerLoad;
  }

  async openAccount(accountId: string): Promise<AccountState> {
    const ledger = this.ledgerLoad;
    if (ledger === undefined) throw new Error('FileStateStore.openAccount before open');
    const dir = this.accountDir(accountId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const audit = new FileAuditLog(dir);
    const auditLoad = await audit.open();
    this.audits.push(audit);
    const loaded: StateLoadReport = {
      problems: [...ledger.problems, ...auditLoad.problems],
      ledgerTrusted: ledger.trusted,
      unfinished: ledger.unfinished.get(accountId) ?? [],
      where: dir,
    };
    return { riskState: new FileRiskStateStore(dir), audit, loaded };
  }

  async close(): Promise<void> {
    await Promise.all([this.ledger.close(), ...this.audits.map((audit) => audit.close())]);
    await this.lock?.release();
  }
}
