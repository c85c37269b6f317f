import { BoundedQueue } from './bounded-queue';

describe('BoundedQueue', () => {
  it('keeps order and evicts the oldest waiting item only when over capacity', () => {
    const queue = new BoundedQueue<string>(2);
    expect(queue.push('a')).toBeUndefined();
    expect(queue.push('b')).toBeUndefined();
    expect(queue.push('c')).toBe('a');
    expect(queue.size).toBe(2);
    expect([queue.shift(), queue.shift(), queue.shift()]).toEqual(['b', 'c', undefined]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new BoundedQueue(0)).toThrow(RangeError);
    expect(() => new BoundedQueue(1.5)).toThrow(RangeError);
  });
});
