/**
 * A FIFO with a hard size limit, in a fixed ring: O(1) per operation. When full, the OLDEST
 * item is dropped to make room and handed back, for the caller to count and log: for a webhook
 * or an alert channel that has been down a while, the latest items (a halt, a cap trigger) matter
 * more than old ones, and memory stays bounded whatever the receiver does.
 */
export class BoundedQueue<T> {
  readonly capacity: number;
  private readonly items: (T | undefined)[];
  private head = 0;
  private length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.items = new Array<T | undefined>(capacity);
  }

  /** Adds an item; returns the item dropped to make room, if any. */
  push(item: T): { dropped: T } | null {
    let dropped: { dropped: T } | null = null;
    if (this.length === this.capacity) {
      dropped = { dropped: this.shift() as T };
    }
    this.items[(this.head + this.length) % this.capacity] = item;
    this.length += 1;
    return dropped;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // let it be collected
    this.head = (this.head + 1) % this.capacity;
    this.length -= 1;
    return item;
  }

  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  /** The newest `n` items (all when n >= size), oldest first, so the newest is last. */
  last(n: number): T[] {
    const count = Math.max(0, Math.min(Math.floor(n), this.length));
    const out: T[] = [];
    for (let i = this.length - count; i < this.length; i += 1)
      out.push(this.items[(this.head + i) % this.capacity] as T);
    return out;
  }

  get size(): number {
    return this.length;
  }

  clear(): number {
    const n = this.length;
    while (this.length > 0) this.shift();
    return n;
  }
}
