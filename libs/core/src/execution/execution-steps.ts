import type { TradeSignal } from '../signals/trade-signal';

/**
 * How a batch of signals may run: instruments are independent; on one instrument, opens are
 * independent positions and may go together, but a `close` must see every open before it and
 * must not touch any open after it. So each instrument gets ordered steps: a run of opens
 * together, then a close alone, and so on.
 */
export function executionSteps(batch: readonly TradeSignal[]): TradeSignal[][][] {
  const lanes = new Map<string, TradeSignal[][]>();
  for (const signal of batch) {
    let steps = lanes.get(signal.instrument);
    if (steps === undefined) {
      steps = [];
      lanes.set(signal.instrument, steps);
    }
    const last = steps.at(-1);
    const joinsLast = last !== undefined && signal.side !== 'close' && last[0].side !== 'close';
    if (joinsLast) last.push(signal);
    else steps.push([signal]);
  }
  return [...lanes.values()];
}
