import { ManualClock } from '../time/clock';
import { RecoveryObservation, RecoveryTracker } from './recovery-tracker';

describe('RecoveryTracker', () => {
  let clock: ManualClock;
  let tracker: RecoveryTracker;
  const start = Date.UTC(2026, 10, 24, 10, 0, 0);

  /** Advances the clock by a second and feeds one drawdown read. */
  const read = (drawdown: number, stepMs = 1_000): RecoveryObservation => {
    clock.advance(stepMs);
    return tracker.observe(clock.now(), drawdown);
  };

  beforeEach(() => {
    clock = new ManualClock(start);
    tracker = new RecoveryTracker();
  });

  it('opens no episode while drawdown stays at 0 (or float noise, or equity above baseline)', () => {
    expect(read(0)).toEqual({});
    expect(read(1e-9)).toEqual({});
    expect(read(-2)).toEqual({});
    expect(tracker.summary()).toEqual({
      episodes: 0,
      recovered: 0,
      rebaselined: 0,
      reductions: 0,
      recovery_times_ms: { count: 0, mean: null, max: null, last: null },
      current_episode: null,
    });
  });

  it('follows an episode to its trough and reports the time to recover to the baseline', () => {
    read(0);
    const startedAt = clock.now() + 1_000;
    read(0.5);
    read(2);
    read(4);
    expect(tracker.currentEpisode()).toEqual({
      started_at: startedAt,
      trough_percent: 4,
      trough_at: startedAt + 2_000,
      drawdown_percent: 4,
      duration_ms: 2_000,
      reductions: 0,
    });
    read(3.5);
    const end = read(0, 10_000);
    expect(end.recovered).toEqual({ recovery_time_ms: 13_000, trough_percent: 4 });
    expect(tracker.currentEpisode()).toBeNull();
    expect(tracker.summary().recovery_times_ms).toEqual({
      count: 1,
      mean: 13_000,
      max: 13_000,
      last: 13_000,
    });
  });

  it('signals a reduction for every full point below the trough or the last reduction', () => {
    read(5);
    expect(read(4.5)).toEqual({}); // half a point: not yet
    expect(read(4).reduction).toEqual({ drawdown_percent: 4, trough_percent: 5, drawdown_change_percent: 1 });
    expect(read(3.2)).toEqual({}); // 0.8 below the last reduction
    expect(read(2.9).reduction).toEqual({
      drawdown_percent: 2.9,
      trough_percent: 5,
      drawdown_change_percent: 1.1,
    });
    // Drawdown rises again: the reference rises with it, so 3.6 -> 2.6 is a reduction.
    expect(read(3.6)).toEqual({});
    expect(read(2.6).reduction?.drawdown_change_percent).toBe(1);
    expect(tracker.currentEpisode()?.reductions).toBe(3);
  });

  it('does not miss a one-point reduction hidden by float subtraction (4.1 -> 3.1)', () => {
    read(4.1);
    expect(4.1 - 3.1).toBeLessThan(1);
    expect(read(3.1).reduction?.drawdown_change_percent).toBe(1);
  });

  it('reports a big single drop as one reduction of its full size', () => {
    read(8);
    expect(read(1.5).reduction).toEqual({
      drawdown_percent: 1.5,
      trough_percent: 8,
      drawdown_change_percent: 6.5,
    });
  });

  it('on recovery from at least a point, reports both the reduction and the recovery', () => {
    read(2.5);
    const result = read(0);
    expect(result.reduction).toEqual({
      drawdown_percent: 0,
      trough_percent: 2.5,
      drawdown_change_percent: 2.5,
    });
    expect(result.recovered).toEqual({ recovery_time_ms: 1_000, trough_percent: 2.5 });
  });

  it('a shallow episode recovers without any reduction signal', () => {
    read(0.4);
    const result = read(0);
    expect(result.reduction).toBeUndefined();
    expect(result.recovered?.recovery_time_ms).toBe(1_000);
  });

  it('counts several episodes and summarises their recovery times', () => {
    for (const [depth, lengthSeconds] of [
      [2, 5],
      [6, 60],
      [1, 2],
    ] as const) {
      read(depth);
      clock.advance(lengthSeconds * 1_000 - 1_000);
      read(0);
    }
    const summary = tracker.summary();
    expect(summary.episodes).toBe(3);
    expect(summary.recovered).toBe(3);
    expect(summary.recovery_times_ms).toEqual({
      count: 3,
      mean: (5_000 + 60_000 + 2_000) / 3,
      max: 60_000,
      last: 2_000,
    });
    expect(tracker.recentRecoveryTimes()).toEqual([5_000, 60_000, 2_000]);
  });

  it('keeps only the last historySize recovery times but exact all-time count, mean and max', () => {
    tracker = new RecoveryTracker({ historySize: 3 });
    for (let i = 1; i <= 5; i += 1) {
      read(1);
      read(0, i * 1_000);
    }
    expect(tracker.recentRecoveryTimes()).toEqual([3_000, 4_000, 5_000]);
    expect(tracker.summary().recovery_times_ms).toEqual({ count: 5, mean: 3_000, max: 5_000, last: 5_000 });
  });

  it('reset(at) on resume closes the open episode as re-baselined, not recovered', () => {
    read(7);
    read(9);
    const abandoned = tracker.reset(clock.now());
    expect(abandoned?.trough_percent).toBe(9);
    expect(tracker.currentEpisode()).toBeNull();
    expect(read(0)).toEqual({}); // drawdown from the new baseline: nothing to recover
    const summary = tracker.summary();
    expect(summary).toMatchObject({ episodes: 1, recovered: 0, rebaselined: 1 });
    expect(summary.recovery_times_ms.count).toBe(0);
    read(1);
    expect(read(0).recovered?.recovery_time_ms).toBe(1_000);
    expect(tracker.reset(clock.now())).toBeNull();
  });

  it('ignores non-finite reads and never lets time run backwards', () => {
    read(3);
    expect(tracker.observe(Number.NaN, 0)).toEqual({});
    expect(tracker.observe(clock.now(), Number.NaN)).toEqual({});
    expect(tracker.currentEpisode()?.drawdown_percent).toBe(3);
    const result = tracker.observe(clock.now() - 60_000, 0); // clock stepped back a minute
    expect(result.recovered?.recovery_time_ms).toBe(0);
  });

  it('honours a different reduction step', () => {
    tracker = new RecoveryTracker({ reductionStepPercent: 2.5 });
    read(10);
    expect(read(8)).toEqual({});
    expect(read(7.5).reduction?.drawdown_change_percent).toBe(2.5);
    expect(() => new RecoveryTracker({ reductionStepPercent: 0 })).toThrow(RangeError);
  });
});
