import type { RiskState } from '@app/core';
import type { AuditLog } from './audit-log';
import type { ChecksummedLoad } from './checksummed-json-file';
import type { SignalLedger, SignalLedgerLoad } from './signal-ledger';

/** What the service keeps under STATE_DIR. The file adapter is the only one; tests point it at a temp dir. */
export interface StateStore {
  readonly stateDir: string;
  readonly ledger: SignalLedger;
  readonly audit: AuditLog;
  /** Problems found on load (damaged files, torn lines), for the log and the status. */
  readonly loadProblems: readonly string[];
  /** True once every file was read and opened. Readiness waits for it. */
  readonly loaded: boolean;
  /** What replaying the signal ledger found (unfinished signals from an earlier run). */
  readonly signalLedgerLoad: SignalLedgerLoad | undefined;
  loadRiskState(): Promise<ChecksummedLoad<RiskState>>;
  /** Atomic and fsynced before it resolves: the halt latch depends on it. */
  saveRiskState(state: RiskState): Promise<void>;
}
