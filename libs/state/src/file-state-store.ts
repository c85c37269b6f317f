import { mkdir } from 'node:fs/promises';
import type { StateLoadReport } from '@app/core';
import { FileAuditLog } from './file-audit-log';
import { FileRiskStateStore } from './file-risk-state-store';
import { FileSignalLedger, type SignalLedgerLoad } from './file-signal-ledger';
import { StateDirLock, type StateDirLockOptions } from './state-dir-lock';

/**
 * Durable state as files under STATE_DIR (the files backend): `risk-state.json` (checksummed),
 * `signals.jsonl` and `audit.jsonl`, owned by one process at a time (state-dir-lock.ts). It hands
 * out the core's ports, nothing more.
 */
export class FileStateStore {
  readonly ledger: FileSignalLedger;
  readonly audit: FileAuditLog;
  readonly riskState: FileRiskStateStore;
  private readonly lock: StateDirLock | undefined;
  private report: StateLoadReport | undefined;
  /** Why the lock could be taken (an earlier owner that is gone, or none). */
  lockTakenBecause: string | undefined;

  /** Without `lock` options nothing guards against a second process (unit tests of the files only). */
  constructor(
    readonly stateDir: string,
    lock?: StateDirLockOptions,
  ) {
    this.lock = lock === undefined ? undefined : new StateDirLock(stateDir, lock);
    this.ledger = new FileSignalLedger(stateDir);
    this.audit = new FileAuditLog(stateDir);
    this.riskState = new FileRiskStateStore(stateDir);
  }

  async open(): Promise<SignalLedgerLoad> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    // Before any file is read: a second process must not even compact the ledger under the first.
    this.lockTakenBecause = await this.lock?.acquire();
    const ledgerLoad = await this.ledger.open();
    const auditLoad = await this.audit.open();
    this.report = {
      problems: [...ledgerLoad.problems, ...auditLoad.problems],
      ledgerTrusted: ledgerLoad.trusted,
      unfinished: ledgerLoad.unfinished,
      where: this.stateDir,
    };
    return ledgerLoad;
  }

  /** What opening found (problems, unfinished signals); undefined before `open`. */
  get loaded(): StateLoadReport | undefined {
    return this.report;
  }

  async close(): Promise<void> {
    await Promise.all([this.ledger.close(), this.audit.close()]);
    await this.lock?.release();
  }
}
