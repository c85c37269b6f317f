import type { Position } from '../broker/broker-types';

/**
 * The service's own positions (its magic number) as the broker listed them last time. Each new
 * list names those that have gone since: closed by a stop loss, a take profit, a stop-out, a
 * person, or by the service itself; the closing deal tells which (see closeReason).
 *
 * The first list only sets the reference: what went while the process was down is not guessed at.
 */
export class OwnPositionsWatch {
  private known: Map<number, Position> | undefined;

  constructor(private readonly magic: number) {}

  /**
   * A position the service's own order just opened: watched from now on, so one that opens and
   * closes between two lists is not missed.
   */
  track(position: Position): void {
    if (position.magic === this.magic) this.known?.set(position.ticket, position);
  }

  /** The service's positions of the previous list that this list no longer has. */
  observe(listed: readonly Position[]): Position[] {
    const current = new Map<number, Position>();
    for (const position of listed) if (position.magic === this.magic) current.set(position.ticket, position);
    const previous = this.known;
    this.known = current;
    if (previous === undefined) return [];
    const gone: Position[] = [];
    for (const [ticket, position] of previous) if (!current.has(ticket)) gone.push(position);
    return gone;
  }
}
