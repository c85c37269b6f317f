import { runCrashHarness } from './support/crash-harness';
it('probe', async () => {
  const report = await runCrashHarness({ gateway: 'http', rounds: 15, seed: Number(process.env.SEED ?? 3), haltProbability: 0.4, log: (l) => process.stderr.write(l + '\n') });
  process.stderr.write(JSON.stringify(report, null, 1) + '\n');
}, 300_000);
