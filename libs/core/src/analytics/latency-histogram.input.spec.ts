import { LatencyHistogram } from './latency-histogram';

describe('LatencyHistogram input handling', () => {
  it('is empty before any sample: nulls, not zeros', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.snapshot()).toEqual({
      count: 0,
      p50: null,
      p95: null,
      p99: null,
      min: null,
      max: null,
      mean: null,
    });
    expect(histogram.percentile(50)).toBeNull();
    expect(histogram.min).toBeNull();
    expect(histogram.max).toBeNull();
    expect(histogram.mean).toBeNull();
  });

  it('refuses NaN, infinities and negatives, counts them, and leaves the statistics untouched', () => {
    const histogram = new LatencyHistogram();
    histogram.record(10);
    histogram.record(20);
    const before = histogram.snapshot();
    for (const bad of [Number.NaN, -1, -0.0001, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(histogram.record(bad)).toBe(false);
    }
    expect(histogram.invalid).toBe(5);
    expect(histogram.snapshot()).toEqual(before);
  });

  it('records 0 ms exactly (a fake clock gives zero latencies)', () => {
    const histogram = new LatencyHistogram();
    histogram.record(0);
    histogram.record(0);
    histogram.record(3);
    expect(histogram.percentile(50)).toBe(0);
    expect(histogram.min).toBe(0);
    expect(histogram.clamped).toEqual({ low: 0, high: 0 });
  });

  it('clamps values outside [0.001 ms, 1 h] to the range and counts them', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.record(0.0000001)).toBe(true);
    expect(histogram.record(5 * 3_600_000)).toBe(true);
    expect(histogram.clamped).toEqual({ low: 1, high: 1 });
    expect(histogram.min).toBe(0.001);
    expect(histogram.max).toBe(3_600_000);
    expect(histogram.percentile(100)).toBe(3_600_000);
    expect(Math.abs(histogram.percentile(0)! - 0.001) / 0.001).toBeLessThanOrEqual(
      histogram.maxRelativeError,
    );
  });

  it('is accurate at the edges of the range and at powers of two', () => {
    for (const value of [0.001, 0.002, 0.004, 1, 1.024, 2.048, 1024, 65_536, 3_599_999, 3_600_000]) {
      const histogram = new LatencyHistogram();
      histogram.record(value);
      histogram.record(value * 1.001 > 3_600_000 ? value : value * 1.001);
      const p = histogram.percentile(50)!;
      expect(Math.abs(p - value) / value).toBeLessThanOrEqual(histogram.maxRelativeError + 1e-12);
    }
  });

  it('refuses a percentile outside [0, 100]', () => {
    const histogram = new LatencyHistogram();
    expect(() => histogram.percentile(101)).toThrow(RangeError);
    expect(() => histogram.percentile(-1)).toThrow(RangeError);
    expect(() => histogram.percentile(Number.NaN)).toThrow(RangeError);
  });

  it('reset() empties it completely', () => {
    const histogram = new LatencyHistogram();
    histogram.record(5);
    histogram.record(Number.NaN);
    histogram.record(1e12);
    histogram.reset();
    expect(histogram.count).toBe(0);
    expect(histogram.invalid).toBe(0);
    expect(histogram.clamped).toEqual({ low: 0, high: 0 });
    expect(histogram.snapshot().p99).toBeNull();
    histogram.record(7);
    expect(histogram.snapshot()).toEqual({ count: 1, p50: 7, p95: 7, p99: 7, min: 7, max: 7, mean: 7 });
  });

  it('refuses options that cannot give a valid range', () => {
    expect(() => new LatencyHistogram({ lowestMs: 0 })).toThrow(RangeError);
    expect(() => new LatencyHistogram({ lowestMs: 10, highestMs: 5 })).toThrow(RangeError);
    expect(() => new LatencyHistogram({ subBuckets: 1 })).toThrow(RangeError);
    expect(() => new LatencyHistogram({ subBuckets: 100 })).toThrow(RangeError); // must be a power of two
  });
});
