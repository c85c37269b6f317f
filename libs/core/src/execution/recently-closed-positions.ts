import type { Position } from '../broker';
import { setNewest } from '../collections/set-newest';
import { MAX_COMMENT_LENGTH } from './request-ids';

/**
 * The positions this process closed, by comment, newest kept. A signal restored after a crash is
 * settled by looking for a position carrying its request id; when a halt's close-all (at start,
 * for a latched halt) closed that position first, the broker no longer lists it, and only this
 * memory still shows that the order filled.
 */
export class RecentlyClosedPositions {
  private readonly byComment = new Map<string, Position>();

  constructor(private readonly capacity = 10_000) {}

  add(position: Position): void {
    if (position.comment !== '') setNewest(this.byComment, position.comment, position, this.capacity);
  }

  /** The closed position whose comment carries this request id (as `positionWithRequestId` matches). */
  withRequestId(requestId: string): Position | undefined {
    return this.byComment.get(requestId.slice(0, MAX_COMMENT_LENGTH));
  }
}
