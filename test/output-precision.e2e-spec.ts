import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeMt5Bridge, type FakeMt5Bridge } from './fakes/fake-mt5-bridge';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Numbers leave the process rounded (docs/service.md): money in cents, percentages to 4 decimals.
 * Baseline 10,000 and equity 9,998.72 is a drawdown of 0.0128 %, which floating point computes as
 * 0.012800000000000655: that noise must show nowhere, not in the status, the events or the audit log.
 */
describe('numbers as they leave the process', () => {
  let bridge: FakeMt5Bridge;
  let t: TestApp;

  beforeAll(async () => {
    bridge = await startFakeMt5Bridge({ balance: 10_000 });
    t = await startTestApp({
      ...bridge.serviceEnv(),
      SIGNALS_HMAC_SECRET: 'inbox-secret-for-output-precision',
      EQUITY_CHECK_INTERVAL_MS: '100',
    });
    await t.waitForEvent('equity_sample');
    bridge.setEquity(9_998.72);
    await t.waitForEvent('equity_sample', (e) => e.payload.drawdown_percent > 0);
  });
  afterAll(async () => {
    await t.close();
    await bridge.close();
  });

  const noisy = /\d\.\d*0000000\d|\d\.\d*9999999\d/;

  it('shows the drawdown as 0.0128 in the status, rounded money beside it', async () => {
    const response = await fetch(`${t.baseUrl}/api/v1/status`, {
      headers: { authorization: `Bearer ${t.secrets.adminToken}` },
    });
    const text = await response.text();
    expect(text).not.toMatch(noisy);
    expect(JSON.parse(text)).toMatchObject({
      drawdown_percent: 0.0128,
      equity: 9998.72,
      baseline_equity: 10000,
    });
  });

  it('publishes events without the noise', () => {
    const sample = t.eventsOf('equity_sample').find((e) => e.payload.drawdown_percent > 0);
    expect(sample?.payload.drawdown_percent).toBe(0.0128);
    expect(JSON.stringify(t.events)).not.toMatch(noisy);
  });

  it('writes the audit log without the noise', async () => {
    expect((await t.admin('POST', '/api/v1/halt', { reason: 'precision check' })).status).toBe(200);
    await t.waitForEvent('halted');
    const audit = await readFile(join(t.stateDir, 'audit.jsonl'), 'utf8');
    expect(audit).toContain('"drawdown_percent":0.0128');
    expect(audit).not.toMatch(noisy);
    const status = await t.admin('GET', '/api/v1/status');
    expect(status.body.halt.drawdown_percent).toBe(0.0128);
  });
});
