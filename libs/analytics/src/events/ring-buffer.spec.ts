import { RingBuffer } from './ring-buffer';

describe('RingBuffer', () => {
  it('returns the newest n items with the newest last', () => {
    const ring = new RingBuffer<number>(5);
    [1, 2, 3].forEach((n) => ring.push(n));
    expect(ring.last(2)).toEqual([2, 3]);
    expect(ring.last(10)).toEqual([1, 2, 3]);
    expect(ring.last(0)).toEqual([]);
  });

  it('overwrites the oldest when full and never holds more than its capacity', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 1; i <= 1000; i += 1) ring.push(i);
    expect(ring.size).toBe(3);
    expect(ring.last(3)).toEqual([998, 999, 1000]);
    expect(ring.last(1)).toEqual([1000]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
    expect(() => new RingBuffer(1.5)).toThrow(RangeError);
  });
});
