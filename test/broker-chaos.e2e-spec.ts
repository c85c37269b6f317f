import { runBrokerChaos } from './support/broker-chaos';

/**
 * The bridge fails 30% of every call at random (timeouts, 503, 429, resets before and after
 * executing, transient retcodes, slow answers near the timeout): every accepted signal ends
 * exactly once, nothing fills twice, no failure hides a fill (issue 8, broker chaos).
 * The long version is test/broker-chaos.stress-spec.ts.
 */
describe('broker chaos', () => {
  it('150 signals through a bridge failing 30% of calls: each ends exactly once, no doubles', async () => {
    const report = await runBrokerChaos({ signals: 150, seed: 30 });
    expect(report.problems).toEqual([]);
    expect(report.accepted).toBe(150);
    // The faults really happened, and most signals still got through the retries.
    expect(Object.values(report.chaos).reduce((a, b) => a + b, 0)).toBeGreaterThan(30);
    expect(report.executed).toBeGreaterThan(100);
    expect(report.fills).toBe(report.executed);
  }, 90_000);
});
