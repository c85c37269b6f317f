import type { Position } from '../broker';
import { RecentlyClosedPositions } from './recently-closed-positions';
import { openRequestId } from './request-ids';
import { positionFixture } from '../testing/position-fixture';

const closed = (ticket: number, comment: string): Position => positionFixture({ ticket, comment });

describe('RecentlyClosedPositions', () => {
  it('finds a closed position by the request id its comment carries (cut to the comment length)', () => {
    const memory = new RecentlyClosedPositions();
    const requestId = openRequestId('a-signal-id-long-enough-to-be-cut-in-the-comment');
    memory.add(closed(7, requestId.slice(0, 26)), true);
    expect(memory.withRequestId(requestId)?.ticket).toBe(7);
    expect(memory.withRequestId(openRequestId('another-signal'))).toBeUndefined();
  });

  it('ignores positions without a comment (opened by hand) and keeps only the newest', () => {
    const memory = new RecentlyClosedPositions(2);
    memory.add(closed(1, ''), true);
    expect(memory.withRequestId('')).toBeUndefined();
    memory.add(closed(2, 'o-b'), true);
    memory.add(closed(3, 'o-c'), true);
    memory.add(closed(4, 'o-d'), true);
    expect(memory.withRequestId('o-b')).toBeUndefined();
    expect(memory.withRequestId('o-c')?.ticket).toBe(3);
    expect(memory.withRequestId('o-d')?.ticket).toBe(4);
  });

  it('tells the service own closes from positions the broker had closed already', () => {
    const memory = new RecentlyClosedPositions();
    memory.add(closed(1, 'o-ours'), true);
    memory.add(closed(2, 'o-stopped-out'), false);
    expect(memory.closedByUs('o-ours')).toBe(true);
    expect(memory.closedByUs('o-stopped-out')).toBe(false);
    expect(memory.withRequestId('o-stopped-out')?.ticket).toBe(2);
    expect(memory.closedByUs('o-unknown')).toBe(false);
  });
});
