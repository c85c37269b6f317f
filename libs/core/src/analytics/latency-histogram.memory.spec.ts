import { LatencyHistogram } from './latency-histogram';

// global.gc exists only when node runs with --expose-gc (e.g. `node --expose-gc node_modules/.bin/jest`).
const gc = (globalThis as { gc?: () => void }).gc;
const itWithGc = gc ? it : it.skip;

function recordMillion(histogram: LatencyHistogram): void {
  // Values generated on the fly (no sample array) so only the histogram could retain memory.
  let x = 123456789;
  for (let i = 0; i < 1_000_000; i += 1) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    histogram.record((x / 4294967296) * 2_000);
  }
}

describe('LatencyHistogram memory does not grow with the number of samples', () => {
  it('keeps the same bucket array size after 1,000,000 samples (structural check)', () => {
    const histogram = new LatencyHistogram();
    const buckets = histogram.bucketCount;
    const bytes = histogram.footprintBytes;
    recordMillion(histogram);
    expect(histogram.count).toBe(1_000_000);
    expect(histogram.bucketCount).toBe(buckets);
    expect(histogram.footprintBytes).toBe(bytes);
    expect(bytes).toBeLessThan(64 * 1024);
  });

  itWithGc('grows the heap by less than 1 MiB over 1,000,000 samples (needs --expose-gc)', () => {
    const histogram = new LatencyHistogram();
    histogram.snapshot(); // warm up code paths before the baseline
    gc!();
    const before = process.memoryUsage().heapUsed;
    recordMillion(histogram);
    const snapshot = histogram.snapshot();
    gc!();
    const after = process.memoryUsage().heapUsed;
    expect(snapshot.count).toBe(1_000_000);
    expect(after - before).toBeLessThan(1024 * 1024);
  });
});
