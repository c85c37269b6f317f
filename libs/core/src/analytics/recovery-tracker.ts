import { roundPercent } from '../numbers/output-precision';
/**
 * Drawdown episodes and the time to recover from each. An episode starts at the first read with
 * drawdown above `epsilonPercent` (float noise is not a drawdown), follows its trough, and ends
 * when drawdown is back to ~0 (equity at the baseline again): the recovery time is the time
 * from the episode's first read to that read.
 *
 * Reductions: the reference level is the highest drawdown since the episode began or since the
 * last reduction. Each time drawdown is at least `reductionStepPercent` below that reference, a
 * reduction is returned (for the `drawdown_reduction` event) and the reference drops to the
 * current level; if drawdown rises again the reference rises with it.
 */
export interface RecoveryTrackerOptions {
  /** Points of drawdown below the reference that make a reduction; default 1. */
  reductionStepPercent?: number;
  /** Drawdown at or below this counts as zero; default 1e-6. */
  epsilonPercent?: number;
  /** How many recent recovery times are kept; default 100. */
  historySize?: number;
}

export interface DrawdownReductionSignal {
  drawdown_percent: number;
  trough_percent: number;
  /**
   * How far drawdown fell, in points: the reference level minus the current drawdown. Positive,
   * at least reductionStepPercent (a reduction is good news; a positive number reads as such).
   */
  drawdown_change_percent: number;
}

export interface DrawdownRecoverySignal {
  recovery_time_ms: number;
  trough_percent: number;
}

export interface RecoveryObservation {
  reduction?: DrawdownReductionSignal;
  recovered?: DrawdownRecoverySignal;
}

export interface DrawdownEpisode {
  started_at: number;
  trough_percent: number;
  trough_at: number;
  drawdown_percent: number;
  /** From the episode's first read to the latest read. */
  duration_ms: number;
  reductions: number;
}

export interface RecoverySummary {
  episodes: number;
  recovered: number;
  /** Episodes closed by a re-baseline (resume) rather than by recovering. */
  rebaselined: number;
  reductions: number;
  /** count, mean and max over every recovery since start; last is the most recent. */
  recovery_times_ms: { count: number; mean: number | null; max: number | null; last: number | null };
  current_episode: DrawdownEpisode | null;
}

// Float subtraction (3.3 - 2.3 = 0.9999999999999996) must not hide a full one-point reduction.
const STEP_TOLERANCE = 1e-9;

export class RecoveryTracker {
  readonly reductionStepPercent: number;
  readonly epsilonPercent: number;
  private readonly history: Float64Array;
  private historyNext = 0;
  private historyLength = 0;

  private episodes = 0;
  private recoveredCount = 0;
  private rebaselinedCount = 0;
  private reductionCount = 0;
  private recoverySum = 0;
  private recoveryMax = 0;
  private lastAt: number | null = null;

  // The open episode; inEpisode says whether the fields below mean anything.
  private inEpisode = false;
  private startedAt = 0;
  private trough = 0;
  private troughAt = 0;
  private reference = 0;
  private current = 0;
  private episodeReductions = 0;

  constructor(options: RecoveryTrackerOptions = {}) {
    const step = options.reductionStepPercent ?? 1;
    const epsilon = options.epsilonPercent ?? 1e-6;
    const historySize = options.historySize ?? 100;
    if (!Number.isFinite(step) || step <= 0)
      throw new RangeError(`reductionStepPercent must be > 0, got ${step}`);
    if (!Number.isFinite(epsilon) || epsilon < 0)
      throw new RangeError(`epsilonPercent must be >= 0, got ${epsilon}`);
    if (!Number.isInteger(historySize) || historySize < 1) {
      throw new RangeError(`historySize must be a positive integer, got ${historySize}`);
    }
    this.reductionStepPercent = step;
    this.epsilonPercent = epsilon;
    this.history = new Float64Array(historySize);
  }

  /**
   * Feeds one drawdown read. Non-finite input is ignored (empty result). A negative drawdown
   * (equity above the baseline) counts as 0. Time never runs backwards here: an earlier `at`
   * is taken as the latest time seen.
   */
  observe(at: number, drawdownPercent: number): RecoveryObservation {
    if (!Number.isFinite(at) || !Number.isFinite(drawdownPercent)) return {};
    const time = this.lastAt !== null && at < this.lastAt ? this.lastAt : at;
    this.lastAt = time;
    const drawdown = drawdownPercent > 0 ? drawdownPercent : 0;
    const inDrawdown = drawdown > this.epsilonPercent;

    if (!this.inEpisode) {
      if (inDrawdown) this.open(time, drawdown);
      return {};
    }

    const result: RecoveryObservation = {};
    this.current = drawdown;
    if (drawdown > this.trough) {
      this.trough = drawdown;
      this.troughAt = time;
    }
    if (drawdown > this.reference) this.reference = drawdown;
    if (this.reference - drawdown >= this.reductionStepPercent - STEP_TOLERANCE) {
      result.reduction = {
        drawdown_percent: drawdown,
        trough_percent: this.trough,
        drawdown_change_percent: roundPercent(this.reference - drawdown),
      };
      this.reference = drawdown;
      this.episodeReductions += 1;
      this.reductionCount += 1;
    }
    if (!inDrawdown) {
      const recoveryTime = time - this.startedAt;
      result.recovered = { recovery_time_ms: recoveryTime, trough_percent: this.trough };
      this.recordRecovery(recoveryTime);
      this.inEpisode = false;
    }
    return result;
  }

  /**
   * Re-baseline (resume): drawdown is measured from a new baseline, so an open episode can no
   * longer recover; it is closed as re-baselined and returned. Recovery history is kept.
   */
  reset(at: number): DrawdownEpisode | null {
    const abandoned = this.currentEpisode();
    if (this.inEpisode) this.rebaselinedCount += 1;
    this.inEpisode = false;
    if (Number.isFinite(at)) this.lastAt = this.lastAt !== null && at < this.lastAt ? this.lastAt : at;
    return abandoned;
  }

  currentEpisode(): DrawdownEpisode | null {
    if (!this.inEpisode) return null;
    return {
      started_at: this.startedAt,
      trough_percent: this.trough,
      trough_at: this.troughAt,
      drawdown_percent: this.current,
      duration_ms: (this.lastAt ?? this.startedAt) - this.startedAt,
      reductions: this.episodeReductions,
    };
  }

  /** The kept recovery times, oldest first (at most historySize). */
  recentRecoveryTimes(): number[] {
    const out: number[] = [];
    const size = this.history.length;
    const start = (this.historyNext - this.historyLength + size) % size;
    for (let i = 0; i < this.historyLength; i += 1) out.push(this.history[(start + i) % size]);
    return out;
  }

  summary(): RecoverySummary {
    const count = this.recoveredCount;
    const last =
      this.historyLength > 0
        ? this.history[(this.historyNext - 1 + this.history.length) % this.history.length]
        : null;
    return {
      episodes: this.episodes,
      recovered: count,
      rebaselined: this.rebaselinedCount,
      reductions: this.reductionCount,
      recovery_times_ms: {
        count,
        mean: count > 0 ? this.recoverySum / count : null,
        max: count > 0 ? this.recoveryMax : null,
        last,
      },
      current_episode: this.currentEpisode(),
    };
  }

  private open(at: number, drawdown: number): void {
    this.inEpisode = true;
    this.episodes += 1;
    this.startedAt = at;
    this.trough = drawdown;
    this.troughAt = at;
    this.reference = drawdown;
    this.current = drawdown;
    this.episodeReductions = 0;
  }

  private recordRecovery(ms: number): void {
    this.recoveredCount += 1;
    this.recoverySum += ms;
    if (ms > this.recoveryMax) this.recoveryMax = ms;
    this.history[this.historyNext] = ms;
    this.historyNext = (this.historyNext + 1) % this.history.length;
    if (this.historyLength < this.history.length) this.historyLength += 1;
  }
}
