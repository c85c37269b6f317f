import { runApiFuzz } from './support/api-fuzz';

/**
 * Generated inbox bodies, headers and signatures and admin calls against one app: only 2xx/4xx,
 * never a 5xx or a crash, and no order reaches the broker for a signal that was not accepted
 * (issue 8, fuzzing). 4,000 here (about 10 s); 20,000 in test/api-fuzz.stress-spec.ts.
 */
describe('API fuzzing', () => {
  it('4,000 generated requests: only 2xx/4xx, nothing refused reaches the broker', async () => {
    const report = await runApiFuzz({ runs: 4_000, seed: 8_001 });
    expect(report.problems).toEqual([]);
    expect(report.requests).toBe(4_000);
    // The generators must reach every layer: accepted, refused by signature, by rules, by size.
    expect(report.byStatus['202']).toBeGreaterThan(100);
    expect(report.byStatus['401']).toBeGreaterThan(100);
    expect(report.byStatus['400']).toBeGreaterThan(100);
    expect(report.byStatus['413']).toBeGreaterThan(10);
    expect(report.ordersAtBroker).toBeGreaterThan(50);
  }, 120_000);
});
