import { runCrashHarness, type CrashReport } from './support/crash-harness';
import { ServiceProcess } from './support/service-process';

/**
 * kill -9 at random moments, restart on the same STATE_DIR, re-send what went unanswered: no
 * signal executes twice, none that was accepted is silently lost, a latched halt survives
 * (issue 8, crash safety). The long version (50 rounds) is test/crash-safety.stress-spec.ts.
 */
describe('crash safety under kill -9', () => {
  beforeAll(() => ServiceProcess.buildOnce(), 180_000);

  const expectSound = (report: CrashReport) => {
    expect(report.problems).toEqual([]);
    // The run must have exercised what it claims to prove, or it proves nothing.
    expect(report.killsAfterReady).toBeGreaterThan(0);
    expect(report.accepted).toBeGreaterThan(0);
    expect(report.executed).toBeGreaterThan(0);
  };

  it('bridge: 5 rounds of kill -9 with halts, every signal ends once, the latch holds', async () => {
    const report = await runCrashHarness({
      gateway: 'http',
      rounds: 5,
      seed: 8,
      haltProbability: 0.5,
      startupKillProbability: 0.2,
    });
    expectSound(report);
    expect(report.haltsConfirmedBeforeKill).toBeGreaterThan(0);
    expect(report.latchChecks).toBeGreaterThan(0);
    // Per signal, the judge already holds fills, log and ledger to each other (see crash-harness.ts).
    expect(report.brokerFills).toBeGreaterThan(0);
  }, 120_000);
});
