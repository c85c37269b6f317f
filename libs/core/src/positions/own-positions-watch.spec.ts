import type { Deal, Position } from '../broker/broker-types';
import { closeReason } from './close-reason';
import { OwnPositionsWatch } from './own-positions-watch';
import { positionFixture } from '../testing/position-fixture';

const MAGIC = 19019;
const position = (ticket: number, magic = MAGIC): Position =>
  positionFixture({ ticket, magic, comment: `o-${ticket}`, time: '2026-11-30T00:00:00.000Z' });
const deal = (over: Partial<Deal>): Deal => ({
  ticket: 1,
  order: 1,
  position: 7,
  symbol: 'EURUSD',
  type: 'sell',
  entry: 'out',
  volume: 0.1,
  price: 1.09,
  profit: -10,
  reason: 'expert',
  magic: MAGIC,
  comment: '',
  time: '2026-11-30T00:00:00.000Z',
  ...over,
});

describe('OwnPositionsWatch', () => {
  it('names the service positions that are gone since the previous list, and only those', () => {
    const watch = new OwnPositionsWatch(MAGIC);
    expect(watch.observe([position(1), position(2), position(3, 0)])).toEqual([]);
    expect(watch.observe([position(2), position(4)])).toEqual([position(1)]);
    expect(watch.observe([position(4)])).toEqual([position(2)]);
    expect(watch.observe([position(4)])).toEqual([]);
  });

  it('does not report a position of another magic number (opened by hand or another program)', () => {
    const watch = new OwnPositionsWatch(MAGIC);
    watch.observe([position(1, 42)]);
    expect(watch.observe([])).toEqual([]);
  });
});

describe('closeReason', () => {
  it.each([
    ['sl', 'sl'],
    ['tp', 'tp'],
    ['so', 'stop_out'],
    ['client', 'external'],
    ['mobile', 'external'],
    ['web', 'external'],
  ] as const)('a closing deal with reason %s is %s', (dealReason, reason) => {
    expect(
      closeReason([deal({ entry: 'in', reason: 'expert' }), deal({ reason: dealReason })], MAGIC).reason,
    ).toBe(reason);
  });

  it("tells the service's own close (its magic) from another program's", () => {
    expect(closeReason([deal({ reason: 'expert' })], MAGIC).reason).toBe('service');
    expect(closeReason([deal({ reason: 'expert', magic: 7 })], MAGIC).reason).toBe('external');
  });

  it('is pending while the history shows no closing deal yet, and takes the last one', () => {
    expect(closeReason([deal({ entry: 'in' })], MAGIC).reason).toBe('pending');
    expect(closeReason([], MAGIC).reason).toBe('pending');
    const last = deal({ ticket: 3, reason: 'tp' });
    expect(closeReason([deal({ ticket: 2, reason: 'expert', volume: 0.05 }), last], MAGIC)).toEqual({
      reason: 'tp',
      deal: last,
    });
  });
});
