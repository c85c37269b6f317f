import type { TradeSignal } from '../signals/trade-signal';
import { executionSteps } from './execution-steps';

const signal = (id: string, instrument: string, side: TradeSignal['side']): TradeSignal => ({
  id,
  instrument,
  side,
  volume: side === 'close' ? 0 : 0.1,
  createdAtMs: 0,
  receivedAtMs: 0,
  source: 'test',
});
const ids = (lanes: TradeSignal[][][]) => lanes.map((steps) => steps.map((step) => step.map((s) => s.id)));

describe('executionSteps', () => {
  it('puts each instrument in its own lane, in arrival order', () => {
    const lanes = executionSteps([
      signal('a', 'EURUSD', 'buy'),
      signal('b', 'USDJPY', 'sell'),
      signal('c', 'EURUSD', 'sell'),
    ]);
    expect(ids(lanes)).toEqual([[['a', 'c']], [['b']]]);
  });

  it('lets a close see every earlier open and none of the later ones', () => {
    const lanes = executionSteps([
      signal('o1', 'EURUSD', 'buy'),
      signal('o2', 'EURUSD', 'buy'),
      signal('x1', 'EURUSD', 'close'),
      signal('x2', 'EURUSD', 'close'),
      signal('o3', 'EURUSD', 'sell'),
    ]);
    expect(ids(lanes)).toEqual([[['o1', 'o2'], ['x1'], ['x2'], ['o3']]]);
  });

  it('returns nothing for an empty batch', () => {
    expect(executionSteps([])).toEqual([]);
  });
});
