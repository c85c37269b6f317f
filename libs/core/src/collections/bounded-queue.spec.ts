import { BoundedQueue } from './bounded-queue';

describe('BoundedQueue', () => {
  it('is first in, first out', () => {
    const queue = new BoundedQueue<string>(3);
    queue.push('a');
    queue.push('b');
    expect(queue.peek()).toBe('a');
    expect(queue.shift()).toBe('a');
    expect(queue.shift()).toBe('b');
    expect(queue.shift()).toBeUndefined();
  });

  it('when full, drops the oldest item and says which', () => {
    const queue = new BoundedQueue<number>(2);
    expect(queue.push(1)).toBeNull();
    expect(queue.push(2)).toBeNull();
    expect(queue.push(3)).toEqual({ dropped: 1 });
    expect(queue.size).toBe(2);
    expect([queue.shift(), queue.shift()]).toEqual([2, 3]);
  });

  it('never holds more than its capacity, across many wraps', () => {
    const queue = new BoundedQueue<number>(5);
    let dropped = 0;
    for (let i = 0; i < 10_000; i += 1) {
      if (queue.push(i) !== null) dropped += 1;
      if (i % 3 === 0) queue.shift();
      expect(queue.size).toBeLessThanOrEqual(5);
    }
    expect(dropped).toBeGreaterThan(0);
    expect(queue.size).toBe(4); // the last loop shifted one
    expect(queue.clear()).toBe(4);
    expect(queue.size).toBe(0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new BoundedQueue(0)).toThrow(RangeError);
  });

  it('returns the newest n items with the newest last', () => {
    const ring = new BoundedQueue<number>(5);
    [1, 2, 3].forEach((n) => ring.push(n));
    expect(ring.last(2)).toEqual([2, 3]);
    expect(ring.last(10)).toEqual([1, 2, 3]);
    expect(ring.last(0)).toEqual([]);
  });

  it('overwrites the oldest when full and never holds more than its capacity', () => {
    const ring = new BoundedQueue<number>(3);
    for (let i = 1; i <= 1000; i += 1) ring.push(i);
    expect(ring.size).toBe(3);
    expect(ring.last(3)).toEqual([998, 999, 1000]);
    expect(ring.last(1)).toEqual([1000]);
  });
});
