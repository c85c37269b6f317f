import { drawdownPercent } from './drawdown';

describe('drawdownPercent', () => {
  it('10,000 to 8,000 is exactly 20.0 (the seed example)', () => {
    expect(drawdownPercent(10_000, 8_000)).toBe(20);
    expect(drawdownPercent(10_000, 7_500)).toBe(25);
  });

  it('is 0 at or above the baseline (clamped, never negative)', () => {
    expect(drawdownPercent(10_000, 10_000)).toBe(0);
    expect(drawdownPercent(10_000, 12_000)).toBe(0);
    expect(drawdownPercent(1e-300, 1e300)).toBe(0);
  });

  it('is 100 for zero and negative equity', () => {
    expect(drawdownPercent(10_000, 0)).toBe(100);
    expect(drawdownPercent(10_000, -0)).toBe(100);
    expect(drawdownPercent(10_000, -5_000)).toBe(100);
    expect(drawdownPercent(10_000, -Number.MAX_VALUE)).toBe(100);
  });

  it('stays within [0, 100] for huge values, without overflow', () => {
    expect(drawdownPercent(Number.MAX_VALUE, Number.MAX_VALUE / 2)).toBeCloseTo(50, 10);
    expect(drawdownPercent(1e307, 1)).toBeCloseTo(100, 10);
    expect(drawdownPercent(1e307, 1)).toBeLessThanOrEqual(100);
  });

  it('rejects a baseline <= 0 and non-finite inputs as broken invariants', () => {
    expect(() => drawdownPercent(0, 100)).toThrow(RangeError);
    expect(() => drawdownPercent(-1, 100)).toThrow(RangeError);
    expect(() => drawdownPercent(Number.NaN, 100)).toThrow(RangeError);
    expect(() => drawdownPercent(10_000, Number.NaN)).toThrow(RangeError);
    expect(() => drawdownPercent(10_000, Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => drawdownPercent(Number.POSITIVE_INFINITY, 1)).toThrow(RangeError);
  });
});
