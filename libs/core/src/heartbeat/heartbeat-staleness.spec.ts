import { HeartbeatStaleness } from './heartbeat-staleness';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

describe('HeartbeatStaleness', () => {
  it('says nothing before the loop started its clock, or while heartbeats are fresh', () => {
    const s = new HeartbeatStaleness(60_000);
    expect(s.observe(0, T0)).toBeNull();
    expect(s.observe(T0, T0 + 60_000)).toBeNull();
  });

  it('goes stale once per episode, past the threshold, and recovers on the next heartbeat', () => {
    const s = new HeartbeatStaleness(60_000);
    expect(s.observe(T0, T0 + 60_001)).toEqual({ kind: 'stale', secondsSinceHeartbeat: 60 });
    expect(s.observe(T0, T0 + 120_000)).toBeNull();
    expect(s.isStale).toBe(true);
    expect(s.observe(T0 + 75_000, T0 + 121_000)).toEqual({ kind: 'recovered', staleForSeconds: 75 });
    expect(s.isStale).toBe(false);
    expect(s.observe(T0 + 75_000, T0 + 121_000 + 1)).toBeNull();
  });
});
