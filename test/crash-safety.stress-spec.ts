import { CHAOS_FAULTS } from './support/broker-chaos';
import { runCrashHarness, type CrashReport } from './support/crash-harness';
import { ServiceProcess } from './support/service-process';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 50);
const say = (line: string) => process.stderr.write(`${line}\n`);

/** The long crash-safety run: 50 kill -9 rounds on the bridge, with and without chaos, and on paper. */
describe('crash safety under kill -9 (stress)', () => {
  beforeAll(() => ServiceProcess.buildOnce(), 180_000);

  const expectSound = (report: CrashReport) => {
    say(JSON.stringify(report, null, 1));
    expect(report.problems).toEqual([]);
    expect(report.killsAfterReady).toBeGreaterThan(report.rounds / 2);
    expect(report.latchChecks).toBeGreaterThan(0);
    expect(report.executed).toBeGreaterThan(0);
  };

  it(`bridge: ${ROUNDS} rounds`, async () => {
    expectSound(await runCrashHarness({ gateway: 'http', rounds: ROUNDS, seed: 50 }));
  });

  it(`bridge with 30% chaos: ${Math.ceil(ROUNDS / 2)} rounds`, async () => {
    expectSound(
      await runCrashHarness({
        gateway: 'http',
        rounds: Math.ceil(ROUNDS / 2),
        seed: 51,
        chaos: { rate: 0.3, seed: 51, faults: CHAOS_FAULTS },
        env: { MT5_TIMEOUT_MS: '300' },
        settleTimeoutMs: 90_000,
      }),
    );
  });

  it(`paper account: ${Math.ceil(ROUNDS / 2)} rounds`, async () => {
    expectSound(await runCrashHarness({ gateway: 'paper', rounds: Math.ceil(ROUNDS / 2), seed: 52 }));
  });
});
