import type { UnfinishedSignal } from './signal-ledger.port';

/** What opening an account's state found, for the runtime's start and the readiness probe. */
export interface StateLoadReport {
  /** Damaged or skipped records, for the log (and, if untrusted, the alert). */
  problems: string[];
  /** False when the signal ledger is damaged: duplicates cannot be ruled out, so the account starts halted. */
  ledgerTrusted: boolean;
  unfinished: UnfinishedSignal[];
  /** Where the state lives, for messages ("State under /data ..."). */
  where: string;
}
