import { seededRandom } from '../paper/seeded-random';
import { DrawdownCurve } from './drawdown-curve';

// Seeded, so the generated data is the same on every run.
const prng = seededRandom;

describe('DrawdownCurve', () => {
  const start = Date.UTC(2026, 10, 24, 10, 0, 0);

  it('is empty before the first read: nulls in the summary', () => {
    const curve = new DrawdownCurve();
    expect(curve.points()).toEqual([]);
    expect(curve.summary()).toEqual({
      points: 0,
      samples: 0,
      max_drawdown_percent: null,
      current_drawdown_percent: null,
      min_equity: null,
      max_equity: null,
      first_at: null,
      last_at: null,
    });
  });

  it('keeps every read while there is room', () => {
    const curve = new DrawdownCurve({ maxPoints: 8 });
    curve.add(start, 10_000, 0);
    curve.add(start + 1_000, 9_900, 1);
    curve.add(start + 2_000, 9_950, 0.5);
    expect(curve.points()).toEqual([
      { at: start, equity: 10_000, drawdown_percent: 0, samples: 1 },
      { at: start + 1_000, equity: 9_900, drawdown_percent: 1, samples: 1 },
      { at: start + 2_000, equity: 9_950, drawdown_percent: 0.5, samples: 1 },
    ]);
    expect(curve.summary()).toEqual({
      points: 3,
      samples: 3,
      max_drawdown_percent: 1,
      current_drawdown_percent: 0.5,
      min_equity: 9_900,
      max_equity: 10_000,
      first_at: start,
      last_at: start + 2_000,
    });
  });

  it('when full, merges pairs keeping the trough and doubles the bucket width', () => {
    const curve = new DrawdownCurve({ maxPoints: 4 });
    const drawdowns = [0, 3, 1, 2, 5];
    drawdowns.forEach((dd, i) => curve.add(start + i * 1_000, 10_000 * (1 - dd / 100), dd));
    expect(curve.bucketSamples).toBe(2);
    expect(curve.points()).toEqual([
      { at: start, equity: 9_700, drawdown_percent: 3, samples: 2 },
      { at: start + 2_000, equity: 9_800, drawdown_percent: 2, samples: 2 },
      { at: start + 4_000, equity: 9_500, drawdown_percent: 5, samples: 1 },
    ]);
    curve.add(start + 5_000, 9_900, 1); // fills the partial point
    expect(curve.points()[2]).toEqual({ at: start + 4_000, equity: 9_500, drawdown_percent: 5, samples: 2 });
  });

  it('stays within N points over 100,000 reads and keeps the global max drawdown exactly', () => {
    const random = prng(7);
    const curve = new DrawdownCurve({ maxPoints: 512 });
    let equity = 10_000;
    let peak = equity;
    let maxDrawdown = 0;
    let minEquity = equity;
    let maxEquity = equity;
    let worstAt = 0;
    for (let i = 0; i < 100_000; i += 1) {
      equity = Math.max(1, equity + (random() - 0.5) * 20);
      peak = Math.max(peak, equity);
      const dd = ((peak - equity) / peak) * 100;
      if (dd > maxDrawdown) {
        maxDrawdown = dd;
        worstAt = start + i * 1_000;
      }
      minEquity = Math.min(minEquity, equity);
      maxEquity = Math.max(maxEquity, equity);
      curve.add(start + i * 1_000, equity, dd);
      if (i % 9_973 === 0) expect(curve.points().length).toBeLessThanOrEqual(512);
    }
    const points = curve.points();
    expect(points.length).toBeLessThanOrEqual(512);
    expect(points.length).toBeGreaterThanOrEqual(256);
    expect(points.reduce((n, p) => n + p.samples, 0)).toBe(100_000);
    // The trough survives downsampling exactly, in the point that covers its time.
    expect(Math.max(...points.map((p) => p.drawdown_percent))).toBe(maxDrawdown);
    expect(Math.min(...points.map((p) => p.equity))).toBe(minEquity);
    const holder = points.filter((p) => p.at <= worstAt).pop()!;
    expect(holder.drawdown_percent).toBe(maxDrawdown);
    // Points stay in time order and span the whole history.
    for (let i = 1; i < points.length; i += 1) expect(points[i].at).toBeGreaterThan(points[i - 1].at);
    expect(points[0].at).toBe(start);
    const summary = curve.summary();
    expect(summary.max_drawdown_percent).toBe(maxDrawdown);
    expect(summary.min_equity).toBe(minEquity);
    expect(summary.max_equity).toBe(maxEquity);
    expect(summary.first_at).toBe(start);
    expect(summary.last_at).toBe(start + 99_999 * 1_000);
    expect(summary.samples).toBe(100_000);
  });

  it('refuses non-finite reads without touching the curve', () => {
    const curve = new DrawdownCurve();
    curve.add(start, 10_000, 0);
    const before = curve.summary();
    expect(curve.add(start + 1, Number.NaN, 0)).toBe(false);
    expect(curve.add(start + 1, 10_000, Number.POSITIVE_INFINITY)).toBe(false);
    expect(curve.add(Number.NaN, 10_000, 0)).toBe(false);
    expect(curve.summary()).toEqual(before);
  });

  it('keeps a read whose time went backwards, stamped with the latest time', () => {
    const curve = new DrawdownCurve();
    curve.add(start + 5_000, 10_000, 0);
    expect(curve.add(start + 4_000, 9_000, 10)).toBe(true);
    expect(curve.summary().last_at).toBe(start + 5_000);
    expect(curve.summary().max_drawdown_percent).toBe(10);
  });

  it('refuses an odd or too small capacity', () => {
    expect(() => new DrawdownCurve({ maxPoints: 3 })).toThrow(RangeError);
    expect(() => new DrawdownCurve({ maxPoints: 0 })).toThrow(RangeError);
  });
});
