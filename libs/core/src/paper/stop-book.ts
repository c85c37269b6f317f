import type { OrderSide } from '../broker/broker-types';

/** What the book needs of a position: its ticket, side and stop levels (0: none). */
export interface StopHolder {
  readonly ticket: number;
  readonly type: OrderSide;
  readonly sl: number;
  readonly tp: number;
}

export type StopKind = 'sl' | 'tp';

const NOTHING: readonly TriggeredStop[] = Object.freeze([]);

export interface TriggeredStop {
  ticket: number;
  kind: StopKind;
  /** The stop level: the position closes at it. */
  level: number;
}

/**
 * The stop levels of one symbol's positions, ordered so that a price step finds what it crossed
 * without looking at the positions it did not: the nearest stop of each kind is at the top of
 * its heap. A buy closes at bid, so its SL triggers at bid <= sl and its TP at bid >= tp; a sell
 * closes at ask, so its SL triggers at ask >= sl and its TP at ask <= tp. Adding or removing a
 * position with stops costs O(log n), one without stops O(1).
 */
export class SymbolStops {
  // Each heap's top is the level the price reaches first from where positions opened.
  private readonly buySl = new TicketHeap((a, b) => a > b); // highest first
  private readonly buyTp = new TicketHeap((a, b) => a < b); // lowest first
  private readonly sellSl = new TicketHeap((a, b) => a < b);
  private readonly sellTp = new TicketHeap((a, b) => a > b);

  get size(): number {
    return this.buySl.size + this.buyTp.size + this.sellSl.size + this.sellTp.size;
  }

  add(position: StopHolder): void {
    const [sl, tp] = this.heapsOf(position.type);
    if (position.sl > 0) sl.set(position.ticket, position.sl);
    if (position.tp > 0) tp.set(position.ticket, position.tp);
  }

  remove(position: StopHolder): void {
    const [sl, tp] = this.heapsOf(position.type);
    sl.delete(position.ticket);
    tp.delete(position.ticket);
  }

  /**
   * The stops the quote has crossed, nearest first (stop losses before take profits), each
   * ticket at most once; the caller closes them, which removes them. Empty when nothing crossed.
   */
  crossed(bid: number, ask: number): readonly TriggeredStop[] {
    // The common case, nothing crossed, costs four comparisons and no allocation.
    if (
      !this.buySl.topIs((level) => bid <= level) &&
      !this.sellSl.topIs((level) => ask >= level) &&
      !this.buyTp.topIs((level) => bid >= level) &&
      !this.sellTp.topIs((level) => ask <= level)
    )
      return NOTHING;
    const found: TriggeredStop[] = [];
    const seen = new Set<number>();
    const take = (heap: TicketHeap, kind: StopKind, hit: (level: number) => boolean) => {
      for (const [ticket, level] of heap.topWhile(hit)) {
        if (seen.has(ticket)) continue; // SL and TP lie on opposite sides, but a stored position is not validated
        seen.add(ticket);
        found.push({ ticket, kind, level });
      }
    };
    take(this.buySl, 'sl', (level) => bid <= level);
    take(this.sellSl, 'sl', (level) => ask >= level);
    take(this.buyTp, 'tp', (level) => bid >= level);
    take(this.sellTp, 'tp', (level) => ask <= level);
    return found;
  }

  private heapsOf(type: OrderSide): [TicketHeap, TicketHeap] {
    return type === 'buy' ? [this.buySl, this.buyTp] : [this.sellSl, this.sellTp];
  }
}

/**
 * A binary heap of (ticket, level) that can also drop or replace a ticket in O(log n): it knows
 * where each ticket sits. Equal levels are ordered by ticket, so the order is the same however
 * the heap was built.
 */
class TicketHeap {
  private readonly tickets: number[] = [];
  private readonly levels: number[] = [];
  private readonly at = new Map<number, number>();

  constructor(private readonly before: (a: number, b: number) => boolean) {}

  get size(): number {
    return this.tickets.length;
  }

  set(ticket: number, level: number): void {
    const i = this.at.get(ticket);
    if (i !== undefined) {
      this.levels[i] = level;
      this.siftDown(this.siftUp(i));
      return;
    }
    this.tickets.push(ticket);
    this.levels.push(level);
    this.at.set(ticket, this.tickets.length - 1);
    this.siftUp(this.tickets.length - 1);
  }

  delete(ticket: number): void {
    const i = this.at.get(ticket);
    if (i === undefined) return;
    const last = this.tickets.length - 1;
    this.swap(i, last);
    this.tickets.pop();
    this.levels.pop();
    this.at.delete(ticket);
    if (i < last) this.siftDown(this.siftUp(i));
  }

  /** Whether the top entry's level satisfies `hit` (false when empty). */
  topIs(hit: (level: number) => boolean): boolean {
    return this.levels.length > 0 && hit(this.levels[0]);
  }

  /**
   * The entries from the top down for which `hit` holds, in heap order, without removing them.
   * Walks only the part of the heap that qualifies (a child never comes before its parent).
   */
  topWhile(hit: (level: number) => boolean): [number, number][] {
    const out: [number, number][] = [];
    if (this.tickets.length === 0 || !hit(this.levels[0])) return out;
    const open = [0];
    while (open.length > 0) {
      const i = open.pop()!;
      out.push([this.tickets[i], this.levels[i]]);
      for (const child of [2 * i + 1, 2 * i + 2])
        if (child < this.tickets.length && hit(this.levels[child])) open.push(child);
    }
    // Nearest first, then by ticket: the order closes happen in, hence deal numbers.
    return out.sort((a, b) => (a[1] === b[1] ? a[0] - b[0] : this.before(a[1], b[1]) ? -1 : 1));
  }

  private precedes(i: number, j: number): boolean {
    const a = this.levels[i];
    const b = this.levels[j];
    return a === b ? this.tickets[i] < this.tickets[j] : this.before(a, b);
  }

  private siftUp(i: number): number {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.precedes(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
    return i;
  }

  private siftDown(i: number): void {
    const n = this.tickets.length;
    for (;;) {
      let best = i;
      const left = 2 * i + 1;
      const right = left + 1;
      if (left < n && this.precedes(left, best)) best = left;
      if (right < n && this.precedes(right, best)) best = right;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }

  private swap(i: number, j: number): void {
    if (i === j) return;
    [this.tickets[i], this.tickets[j]] = [this.tickets[j], this.tickets[i]];
    [this.levels[i], this.levels[j]] = [this.levels[j], this.levels[i]];
    this.at.set(this.tickets[i], i);
    this.at.set(this.tickets[j], j);
  }
}
