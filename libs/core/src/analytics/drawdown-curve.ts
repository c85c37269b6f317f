/**
 * Equity and drawdown over time in bounded memory. Each point stands for `bucketSamples`
 * consecutive samples (the last point may be partial). When all `maxPoints` slots are full,
 * adjacent pairs are merged and the bucket width doubles, so the curve always spans the whole
 * history at a resolution that halves as it grows (like a downsampling reservoir).
 *
 * A merged point keeps the lowest equity and the highest drawdown of its samples, so troughs
 * are never lost; the two can come from different samples when the baseline moved in between.
 * The global extremes in `summary()` are tracked separately and are exact.
 */
export interface DrawdownPoint {
  /** Time of the first sample in this point (epoch ms). */
  at: number;
  /** Lowest equity among the point's samples. */
  equity: number;
  /** Highest drawdown among the point's samples. */
  drawdown_percent: number;
  samples: number;
}

export interface DrawdownCurveSummary {
  points: number;
  samples: number;
  max_drawdown_percent: number | null;
  current_drawdown_percent: number | null;
  min_equity: number | null;
  max_equity: number | null;
  first_at: number | null;
  last_at: number | null;
}

export interface DrawdownCurveOptions {
  /** Even, >= 2. */
  maxPoints?: number;
}

export class DrawdownCurve {
  readonly maxPoints: number;
  private readonly ats: Float64Array;
  private readonly equities: Float64Array;
  private readonly drawdowns: Float64Array;
  private readonly sampleCounts: Float64Array;
  private length = 0;
  private width = 1;
  private totalSamples = 0;
  private maxDrawdown = Number.NEGATIVE_INFINITY;
  private currentDrawdown = 0;
  private minEquity = Number.POSITIVE_INFINITY;
  private maxEquity = Number.NEGATIVE_INFINITY;
  private firstAt = 0;
  private lastAt = 0;

  constructor(options: DrawdownCurveOptions = {}) {
    const maxPoints = options.maxPoints ?? 512;
    if (!Number.isInteger(maxPoints) || maxPoints < 2 || maxPoints % 2 !== 0) {
      throw new RangeError(`maxPoints must be an even integer >= 2, got ${maxPoints}`);
    }
    this.maxPoints = maxPoints;
    this.ats = new Float64Array(maxPoints);
    this.equities = new Float64Array(maxPoints);
    this.drawdowns = new Float64Array(maxPoints);
    this.sampleCounts = new Float64Array(maxPoints);
  }

  /**
   * Adds one equity read. Non-finite input is refused (false) and leaves the curve untouched.
   * A time earlier than the last sample is moved up to it: the sample (maybe a trough) matters
   * more than its timestamp after a clock step back.
   */
  add(at: number, equity: number, drawdownPercent: number): boolean {
    if (!Number.isFinite(at) || !Number.isFinite(equity) || !Number.isFinite(drawdownPercent)) return false;
    const time = this.totalSamples > 0 && at < this.lastAt ? this.lastAt : at;
    if (this.totalSamples === 0) this.firstAt = time;
    this.lastAt = time;
    this.totalSamples += 1;
    this.currentDrawdown = drawdownPercent;
    if (drawdownPercent > this.maxDrawdown) this.maxDrawdown = drawdownPercent;
    if (equity < this.minEquity) this.minEquity = equity;
    if (equity > this.maxEquity) this.maxEquity = equity;

    const last = this.length - 1;
    if (last >= 0 && this.sampleCounts[last] < this.width) {
      this.equities[last] = Math.min(this.equities[last], equity);
      this.drawdowns[last] = Math.max(this.drawdowns[last], drawdownPercent);
      this.sampleCounts[last] += 1;
      return true;
    }
    if (this.length === this.maxPoints) this.compact();
    const i = this.length;
    this.ats[i] = time;
    this.equities[i] = equity;
    this.drawdowns[i] = drawdownPercent;
    this.sampleCounts[i] = 1;
    this.length += 1;
    return true;
  }

  points(): DrawdownPoint[] {
    const out: DrawdownPoint[] = [];
    for (let i = 0; i < this.length; i += 1) {
      out.push({
        at: this.ats[i],
        equity: this.equities[i],
        drawdown_percent: this.drawdowns[i],
        samples: this.sampleCounts[i],
      });
    }
    return out;
  }

  /** Samples per full point at the current resolution. */
  get bucketSamples(): number {
    return this.width;
  }

  summary(): DrawdownCurveSummary {
    const empty = this.totalSamples === 0;
    return {
      points: this.length,
      samples: this.totalSamples,
      max_drawdown_percent: empty ? null : this.maxDrawdown,
      current_drawdown_percent: empty ? null : this.currentDrawdown,
      min_equity: empty ? null : this.minEquity,
      max_equity: empty ? null : this.maxEquity,
      first_at: empty ? null : this.firstAt,
      last_at: empty ? null : this.lastAt,
    };
  }

  reset(): void {
    this.length = 0;
    this.width = 1;
    this.totalSamples = 0;
    this.maxDrawdown = Number.NEGATIVE_INFINITY;
    this.currentDrawdown = 0;
    this.minEquity = Number.POSITIVE_INFINITY;
    this.maxEquity = Number.NEGATIVE_INFINITY;
    this.firstAt = 0;
    this.lastAt = 0;
  }

  /** Merges adjacent pairs in place; only called when full, so every pair is complete. */
  private compact(): void {
    const half = this.length / 2;
    for (let i = 0; i < half; i += 1) {
      const a = 2 * i;
      const b = a + 1;
      this.ats[i] = this.ats[a];
      this.equities[i] = Math.min(this.equities[a], this.equities[b]);
      this.drawdowns[i] = Math.max(this.drawdowns[a], this.drawdowns[b]);
      this.sampleCounts[i] = this.sampleCounts[a] + this.sampleCounts[b];
    }
    this.length = half;
    this.width *= 2;
  }
}
