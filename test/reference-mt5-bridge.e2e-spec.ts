import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The reference Python bridge (tools/mt5-bridge) keeps its pure parts (signature check,
 * idempotency store, retcode mapping) under stdlib unittest with MetaTrader5 faked. Run them
 * here so `npm test` covers them too.
 */
describe('reference MT5 bridge (Python)', () => {
  it('passes its unit tests', () => {
    const run = spawnSync(
      'python3',
      ['-m', 'unittest', 'discover', '-s', join(__dirname, '../tools/mt5-bridge/tests')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (run.error) throw new Error(`python3 could not run: ${run.error.message}`);
    const summary = `${run.stdout}\n${run.stderr}`;
    expect(summary).toMatch(/Ran [1-9]\d* tests?/);
    expect(run.status).toBe(0);
  });
});
