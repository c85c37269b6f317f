import { runBrokerChaos } from './support/broker-chaos';

const SIGNALS = Number(process.env.CHAOS_SIGNALS ?? 5_000);

/** The long broker-chaos run: thousands of signals through a bridge failing 30% of calls. */
describe('broker chaos (stress)', () => {
  it.each([1, 2, 3])(`${SIGNALS} signals, seed %i: each ends exactly once, no doubles`, async (seed) => {
    const report = await runBrokerChaos({
      signals: SIGNALS,
      seed,
      concurrency: 16,
      settleTimeoutMs: 300_000,
    });
    process.stderr.write(`${JSON.stringify(report, null, 1)}\n`);
    expect(report.problems).toEqual([]);
    expect(report.accepted).toBe(SIGNALS);
    expect(report.fills).toBe(report.executed);
  });
});
