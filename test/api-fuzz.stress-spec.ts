import { runApiFuzz } from './support/api-fuzz';

const RUNS = Number(process.env.FUZZ_RUNS ?? 20_000);

/** The long fuzzing run: 20,000 generated requests per seed. */
describe('API fuzzing (stress)', () => {
  it.each([101, 202])(
    `${RUNS} generated requests, seed %i: only 2xx/4xx, nothing refused reaches the broker`,
    async (seed) => {
      const report = await runApiFuzz({ runs: RUNS, seed });
      process.stderr.write(`${JSON.stringify(report, null, 1)}\n`);
      expect(report.problems).toEqual([]);
      expect(report.requests).toBe(RUNS);
      expect(report.byStatus['202']).toBeGreaterThan(RUNS / 40);
    },
  );
});
