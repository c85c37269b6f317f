/**
 * A FIFO with a hard size limit, so an outage of the alert channel cannot grow memory without
 * bound. When full, the oldest waiting item is evicted and handed back for the caller to count
 * and log: the newest alert describes the present state, the evicted one is already in the log.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
  }

  /** Adds at the tail; returns the item evicted to make room, if any. */
  push(item: T): T | undefined {
    this.items.push(item);
    return this.items.length > this.capacity ? this.items.shift() : undefined;
  }

  shift(): T | undefined {
    return this.items.shift();
  }

  get size(): number {
    return this.items.length;
  }
}
