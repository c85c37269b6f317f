import type { TradeSignal } from '@app/core';
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
