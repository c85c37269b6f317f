import { LoopProgress } from './loop-progress';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

describe('LoopProgress: a heartbeat proves the loop completes ticks', () => {
  it('is not due before any tick has completed, even long after start', () => {
    const progress = new LoopProgress(T0);
    expect(progress.heartbeatDue()).toBe(false);
    progress.tickStarted(T0 + 100);
    expect(progress.heartbeatDue()).toBe(false);
    expect(progress.ticksCompleted).toBe(0);
  });

  it('is due after a completed tick, and not again until another tick completes', () => {
    const progress = new LoopProgress(T0);
    progress.tickStarted(T0 + 250);
    progress.tickCompleted(T0 + 252);
    expect(progress.heartbeatDue()).toBe(true);
    progress.heartbeatEmitted(T0 + 10_000);
    expect(progress.heartbeatDue()).toBe(false);
    progress.tickStarted(T0 + 10_250);
    progress.tickCompleted(T0 + 10_251);
    expect(progress.heartbeatDue()).toBe(true);
  });

  it('is not due when a tick started after the last heartbeat and never completed (a stuck tick)', () => {
    const progress = new LoopProgress(T0);
    progress.tickStarted(T0);
    progress.tickCompleted(T0 + 1);
    progress.heartbeatEmitted(T0 + 10_000);
    progress.tickStarted(T0 + 10_250); // wedged from here
    expect(progress.heartbeatDue()).toBe(false);
    expect(progress.tickInFlightSince).toBe(T0 + 10_250);
    expect(progress.heartbeatAgeMs(T0 + 70_000)).toBe(60_000);
    expect(progress.heartbeatDue()).toBe(false);
  });

  it('needs one completed tick per heartbeat, however many heartbeats are asked for', () => {
    const progress = new LoopProgress(T0);
    for (let i = 0; i < 5; i++) {
      progress.tickStarted(T0 + i * 100);
      progress.tickCompleted(T0 + i * 100 + 1);
    }
    expect(progress.ticksCompleted).toBe(5);
    expect(progress.heartbeatDue()).toBe(true);
    progress.heartbeatEmitted(T0 + 1000);
    expect(progress.heartbeatDue()).toBe(false);
  });

  it('measures the duration of the last completed tick and clears the in-flight mark', () => {
    const progress = new LoopProgress(T0);
    expect(progress.lastTickDurationMs).toBe(0);
    expect(progress.tickInFlightSince).toBeNull();
    progress.tickStarted(T0 + 1000);
    expect(progress.tickInFlightSince).toBe(T0 + 1000);
    progress.tickCompleted(T0 + 1037);
    expect(progress.lastTickDurationMs).toBe(37);
    expect(progress.tickInFlightSince).toBeNull();
    progress.tickStarted(T0 + 2000);
    progress.tickCompleted(T0 + 2002);
    expect(progress.lastTickDurationMs).toBe(2);
  });

  it('never reports a negative duration when the wall clock steps back mid-tick', () => {
    const progress = new LoopProgress(T0);
    progress.tickStarted(T0 + 5000);
    progress.tickCompleted(T0 + 4000);
    expect(progress.lastTickDurationMs).toBe(0);
    expect(progress.heartbeatDue()).toBe(true);
  });

  it('counts the heartbeat age from start before the first heartbeat, then from the last heartbeat', () => {
    const progress = new LoopProgress(T0);
    expect(progress.lastHeartbeatAt).toBeNull();
    expect(progress.heartbeatAgeMs(T0 + 4500)).toBe(4500);
    progress.tickStarted(T0 + 4600);
    progress.tickCompleted(T0 + 4601);
    progress.heartbeatEmitted(T0 + 5000);
    expect(progress.lastHeartbeatAt).toBe(T0 + 5000);
    expect(progress.heartbeatAgeMs(T0 + 5000)).toBe(0);
    expect(progress.heartbeatAgeMs(T0 + 65_001)).toBe(60_001);
  });

  it('never reports a negative age', () => {
    const progress = new LoopProgress(T0);
    expect(progress.heartbeatAgeMs(T0 - 1000)).toBe(0);
  });
});
