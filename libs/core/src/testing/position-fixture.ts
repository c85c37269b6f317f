import type { Position } from '../broker/broker-types';

/** The service's magic number in tests. */
export const TEST_MAGIC = 19019;

/** A position as a broker lists it: 0.1 lot of EURUSD bought at 1.1 by the service, flat. */
export function positionFixture(over: Partial<Position> = {}): Position {
  return {
    ticket: 7,
    symbol: 'EURUSD',
    type: 'buy',
    volume: 0.1,
    price_open: 1.1,
    price_current: 1.1,
    sl: 0,
    tp: 0,
    profit: 0,
    magic: TEST_MAGIC,
    comment: '',
    time: '',
    ...over,
  };
}
