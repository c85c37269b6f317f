import { seededRandom } from '../paper/seeded-random';
import { LatencyHistogram, nearestRank } from './latency-histogram';

// Seeded, so the generated data is the same on every run.
const prng = seededRandom;

function normal(random: () => number): number {
  // Box-Muller; 1 - u keeps log away from 0.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Exact nearest-rank percentile of a sorted array: the value at rank ceil(p/100 * n). */
function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p * sorted.length) / 100)));
  return sorted[rank - 1];
}

const distributions: Record<string, (random: () => number) => number> = {
  'uniform 0-1000 ms': (r) => r() * 1000,
  'log-normal around 20 ms': (r) => Math.exp(Math.log(20) + normal(r)),
  'bimodal 5 ms / 250 ms': (r) =>
    r() < 0.7 ? Math.abs(5 + 0.5 * normal(r)) : Math.abs(250 + 30 * normal(r)),
  'sub-millisecond 0.001-0.05 ms': (r) => 0.001 + r() * 0.049,
  'heavy tail up to minutes': (r) => Math.exp(normal(r) * 3),
  'integer milliseconds with zeros': (r) => Math.floor(r() * 20),
};

const percentiles = [0, 1, 25, 50, 75, 90, 95, 99, 99.9, 100];

describe('LatencyHistogram percentiles against exact sorted-array percentiles', () => {
  it.each(Object.entries(distributions))(
    '%s: every percentile within 1 %% (and within the bucket bound)',
    (_name, draw) => {
      const random = prng(20261124);
      const histogram = new LatencyHistogram();
      const samples: number[] = [];
      let accepted = 0;
      for (let i = 0; i < 50_000; i += 1) {
        // The contract is about recorded values, which are clamped to the range (0 stays exact).
        const raw = draw(random);
        const value = raw === 0 ? 0 : Math.min(Math.max(raw, histogram.lowestMs), histogram.highestMs);
        samples.push(value);
        if (histogram.record(value)) accepted += 1;
      }
      expect(accepted).toBe(samples.length);
      samples.sort((a, b) => a - b);

      for (const p of percentiles) {
        const exact = exactPercentile(samples, p);
        const reported = histogram.percentile(p)!;
        if (exact === 0) {
          expect(reported).toBe(0);
          continue;
        }
        const relative = Math.abs(reported - exact) / exact;
        expect(relative).toBeLessThanOrEqual(0.01);
        expect(relative).toBeLessThanOrEqual(histogram.maxRelativeError + 1e-12);
      }

      const snapshot = histogram.snapshot();
      expect(snapshot.count).toBe(samples.length);
      expect(snapshot.min).toBe(samples[0]);
      expect(snapshot.max).toBe(samples[samples.length - 1]);
      expect(snapshot.mean).toBeCloseTo(samples.reduce((s, v) => s + v, 0) / samples.length, 6);
      for (const [key, p] of [
        ['p50', 50],
        ['p95', 95],
        ['p99', 99],
      ] as const) {
        expect(snapshot[key]).toBe(histogram.percentile(p));
      }
    },
  );

  it('uses the nearest-rank definition (95 % of 100 samples is the 95th value)', () => {
    const histogram = new LatencyHistogram();
    for (let v = 1; v <= 100; v += 1) histogram.record(v);
    expect(nearestRank(95, 100)).toBe(95);
    expect(nearestRank(50, 101)).toBe(51);
    expect(nearestRank(0, 10)).toBe(1);
    expect(Math.abs(histogram.percentile(95)! - 95) / 95).toBeLessThan(0.005);
    expect(Math.abs(histogram.percentile(50)! - 50) / 50).toBeLessThan(0.005);
    expect(histogram.percentile(100)).toBe(100);
    expect(histogram.percentile(0)).toBe(1);
  });

  it('gives identical samples back exactly (the midpoint is kept inside [min, max])', () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 10; i += 1) histogram.record(250);
    expect(histogram.snapshot()).toEqual({
      count: 10,
      p50: 250,
      p95: 250,
      p99: 250,
      min: 250,
      max: 250,
      mean: 250,
    });
  });

  it('keeps a single slow outlier out of p50 but in p99 and max', () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 99; i += 1) histogram.record(10);
    histogram.record(5_000);
    const snapshot = histogram.snapshot();
    expect(Math.abs(snapshot.p50! - 10) / 10).toBeLessThanOrEqual(histogram.maxRelativeError);
    expect(Math.abs(snapshot.p99! - 10) / 10).toBeLessThanOrEqual(histogram.maxRelativeError);
    expect(histogram.percentile(100)).toBe(5_000);
    expect(snapshot.max).toBe(5_000);
  });

  it('states a bucket error bound of at most 0.5 %', () => {
    expect(new LatencyHistogram().maxRelativeError).toBe(1 / 256);
    expect(new LatencyHistogram({ subBuckets: 256 }).maxRelativeError).toBe(1 / 512);
  });

  it('returns the exact min and max for the extreme ranks', () => {
    const histogram = new LatencyHistogram();
    for (const v of [3.3, 7.77, 12.345]) histogram.record(v);
    expect(histogram.percentile(0)).toBe(3.3);
    expect(histogram.percentile(100)).toBe(12.345);
  });
});
