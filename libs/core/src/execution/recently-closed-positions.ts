import type { Position } from '../broker';
import { setNewest } from '../collections/set-newest';
import { MAX_COMMENT_LENGTH } from './request-ids';

/**
 * The positions a close-all of this process saw go, by comment, newest kept. A signal restored
 * after a crash is settled by looking for a position carrying its request id; when a halt's
 * close-all (at start, for a latched halt) closed that position first, the broker no longer lists
 * it, and only this memory still shows that the order filled. `byUs` tells the service's own
 * closes from a position the broker had already closed (a stop, a stop-out) when the close came:
 * only the first are the service's to keep quiet about (position_closed).
 */
export class RecentlyClosedPositions {
  private readonly byComment = new Map<string, { position: Position; byUs: boolean }>();

  constructor(private readonly capacity = 10_000) {}

  add(position: Position, byUs: boolean): void {
    if (position.comment !== '')
      setNewest(this.byComment, position.comment, { position, byUs }, this.capacity);
  }

  /** The gone position whose comment carries this request id (as `positionWithRequestId` matches). */
  withRequestId(requestId: string): Position | undefined {
    return this.byComment.get(requestId.slice(0, MAX_COMMENT_LENGTH))?.position;
  }

  /** Whether this process itself closed the position with this comment. */
  closedByUs(comment: string): boolean {
    return this.byComment.get(comment.slice(0, MAX_COMMENT_LENGTH))?.byUs === true;
  }
}
