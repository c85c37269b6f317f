/**
 * A fixed-capacity FIFO that overwrites its oldest item when full: the memory of the recent-events
 * API never grows with the number of events.
 */
export class RingBuffer<T> {
  readonly capacity: number;
  private readonly items: (T | undefined)[];
  private next = 0;
  private length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.length < this.capacity) this.length += 1;
  }

  get size(): number {
    return this.length;
  }

  /** The newest `n` items (all when n >= size), oldest first, so the newest is last. */
  last(n: number): T[] {
    const count = Math.max(0, Math.min(Math.floor(n), this.length));
    const out: T[] = [];
    for (let i = count; i >= 1; i -= 1)
      out.push(this.items[(this.next - i + this.capacity) % this.capacity] as T);
    return out;
  }
}
