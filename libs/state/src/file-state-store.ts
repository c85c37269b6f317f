import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RiskState } from '@app/core';
import { AuditLog } from './audit-log';
import { ChecksummedJsonFile, type ChecksummedLoad } from './checksummed-json-file';
import { SignalLedger, type SignalLedgerLoad } from './signal-ledger';
import { StateDirLock, type StateDirLockOptions } from './state-dir-lock';
import type { StateStore } from './state-store.port';

/** Durable state as files under STATE_DIR: risk-state.json (checksummed), signals.jsonl, audit.jsonl. */
export class FileStateStore implements StateStore {
  readonly ledger: SignalLedger;
  readonly audit: AuditLog;
  private readonly riskFile: ChecksummedJsonFile<RiskState>;
  private problems: string[] = [];
  private ledgerLoad: SignalLedgerLoad | undefined;
  private readonly lock: StateDirLock | undefined;
  /** Why the lock could be taken (an earlier owner that is gone, or none). */
  lockTakenBecause: string | undefined;

  /** Without `lock` options nothing guards against a second process (unit tests of the files only). */
  constructor(
    readonly stateDir: string,
    lock?: StateDirLockOptions,
  ) {
    this.lock = lock === undefined ? undefined : new StateDirLock(stateDir, lock);
    this.ledger = new SignalLedger(stateDir);
    this.audit = new AuditLog(stateDir);
    this.riskFile = new ChecksummedJsonFile<RiskState>(join(stateDir, 'risk-state.json'));
  }

  async open(): Promise<SignalLedgerLoad> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    // Before any file is read: a second process must not even compact the ledger under the first.
    this.lockTakenBecause = await this.lock?.acquire();
    const ledgerLoad = await this.ledger.open();
    const auditLoad = await this.audit.open();
    this.problems = [...ledgerLoad.problems, ...auditLoad.problems];
    this.ledgerLoad = ledgerLoad;
    return ledgerLoad;
  }

  get loadProblems(): readonly string[] {
    return this.problems;
  }

  get loaded(): boolean {
    return this.ledgerLoad !== undefined;
  }

  /** What the ledger replay found; undefined before `open`. */
  get signalLedgerLoad(): SignalLedgerLoad | undefined {
    return this.ledgerLoad;
  }

  loadRiskState(): Promise<ChecksummedLoad<RiskState>> {
    return this.riskFile.load();
  }

  saveRiskState(state: RiskState): Promise<void> {
    return this.riskFile.save(state);
  }

  async close(): Promise<void> {
    await Promise.all([this.ledger.close(), this.audit.close()]);
    await this.lock?.release();
  }
}
