import type { SignalTargets, TradeSignal, UnfinishedSignal } from '@app/core';
import type { SignalLedgerLoad } from './file-signal-ledger';
import { FileSignalLedger } from './file-signal-ledger';

/** Shared by the FileSignalLedger specs: a fixed time and a valid signal around it. */
export const LEDGER_T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

export function ledgerSignal(id: string, extra: Partial<TradeSignal> = {}): TradeSignal {
  const side = extra.side ?? 'buy';
  return {
    id,
    instrument: 'EURUSD',
    side,
    volume: side === 'close' ? 0 : 0.1,
    createdAtMs: LEDGER_T0 - 50,
    receivedAtMs: LEDGER_T0,
    source: 'inbox',
    ...extra,
  };
}

/** A new ledger on `dir`, opened (as a restart would). */
export async function reopenLedger(dir: string) {
  const ledger = new FileSignalLedger(dir);
  const load = await ledger.open();
  return { ledger, load };
}

/** The one account of a service without ACCOUNTS_FILE trades it. */
export const FOR_DEFAULT: SignalTargets = { accepted: ['default'], rejected: [] };
/** The one account was halted when it arrived. */
export const HALTED_DEFAULT: SignalTargets = { accepted: [], rejected: ['default'], reason: 'halted' };

/** The default account's unfinished signals of a load. */
export function unfinishedOf(load: SignalLedgerLoad): UnfinishedSignal[] {
  return load.unfinished.get('default') ?? [];
}
