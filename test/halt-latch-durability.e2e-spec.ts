import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeMt5Bridge, type FakeMt5Bridge } from './fakes/fake-mt5-bridge';
import { postSignal, signalBody } from './support/signed-request';
import { ServiceProcess } from './support/service-process';
import { waitUntil } from './support/wait-until';

const SECRET = 'inbox-secret-for-latch-tests';

/** The halt latch survives kill -9 and restarts, also with a different cap (docs/risk.md, Latch). */
describe('halt latch durability', () => {
  let bridge: FakeMt5Bridge;
  const started: ServiceProcess[] = [];
  beforeAll(() => ServiceProcess.buildOnce(), 120_000);
  beforeEach(async () => {
    bridge = await startFakeMt5Bridge({ balance: 10_000 });
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
    await bridge.close();
  });

  const env = (extra: Record<string, string> = {}) => ({
    ...bridge.serviceEnv(),
    MT5_TIMEOUT_MS: '300',
    SIGNALS_HMAC_SECRET: SECRET,
    ADMIN_TOKEN: 'admin-token-for-latch-tests',
    EQUITY_CHECK_INTERVAL_MS: '100',
    HEARTBEAT_INTERVAL_MS: '500',
    ...extra,
  });
  const start = async (extra: Record<string, string> = {}, stateDir?: string) => {
    const service = await ServiceProcess.start(env(extra), stateDir);
    started.push(service);
    return service;
  };
  const admin = async (s: ServiceProcess, method: string, path: string, body?: unknown) => {
    const answer = await fetch(`${s.baseUrl}${path}`, {
      method,
      headers: { authorization: 'Bearer admin-token-for-latch-tests', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: answer.status, body: (await answer.json()) as Record<string, any> };
  };
  const isHeartbeat = (l: { type?: string }) => l.type === 'heartbeat';

  it('kill -9 right after a trigger, restart with another cap: still halted, positions still closed, nothing opened until resume', async () => {
    for (const symbol of ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD', 'EURJPY'])
      bridge.addPosition({ symbol, type: 'buy', volume: 0.1 });
    // Closes hang, so the first process dies with every position still open.
    bridge.failNext({ method: 'POST', path: /\/close$/ }, { kind: 'hang' }, 1000);
    const first = await start({ DRAWDOWN_CAP_PERCENT: '20' });
    await first.waitUntilReady();
    await first.waitForLine(
      (l) => l.type === 'equity_sample' || (l.msg ?? '').includes('successfully started'),
    );
    bridge.setEquity(7_500);
    await first.waitForLine((l) => l.type === 'halted');
    first.kill('SIGKILL');
    await first.exited();
    expect(bridge.positions()).toHaveLength(5);
    const onDisk = JSON.parse(await readFile(join(first.stateDir, 'risk-state.json'), 'utf8')) as {
      value: { halt: { source: string } | null };
    };
    expect(onDisk.value.halt?.source).toBe('drawdown_cap');

    // A new process, a looser cap, equity back to normal: the latch holds and the closing resumes.
    bridge.clearFaults();
    bridge.setEquity(10_000);
    const ordersBefore = bridge.requestsTo('POST', '/v1/orders').length;
    const second = await start({ DRAWDOWN_CAP_PERCENT: '50' }, first.stateDir);
    await second.waitUntilReady();
    expect((await admin(second, 'GET', '/api/v1/status')).body).toMatchObject({
      state: 'halted',
      cap_percent: 50,
    });
    await waitUntil(() => bridge.positions().length === 0, { what: 'positions closed after restart' });
    const heartbeats = second.lines.filter(isHeartbeat).length;
    expect((await postSignal(second.baseUrl, SECRET, signalBody())).status).toBe(423);
    // Two more heartbeats, each proving a completed loop tick: a signal taken despite the 423
    // would have been sent by then.
    await second.waitForLineCount(isHeartbeat, heartbeats + 2);
    expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(ordersBefore);

    // Only a person clears it; afterwards trading works again from the new baseline.
    const resumed = await admin(second, 'POST', '/api/v1/resume', {
      reviewed_by: 'ops',
      note: 'reviewed the crash',
    });
    expect(resumed).toMatchObject({ status: 200, body: { state: 'running', baseline_equity: 10_000 } });
    expect((await postSignal(second.baseUrl, SECRET, signalBody())).status).toBe(202);
    await waitUntil(() => bridge.requestsTo('POST', '/v1/orders').length === ordersBefore + 1, {
      what: 'the new order',
    });
    const audit = await readFile(join(first.stateDir, 'audit.jsonl'), 'utf8');
    expect(audit).toContain('"action":"halt"');
    expect(audit).toContain('"action":"resume"');
    expect(audit).toContain('"reviewed_by":"ops"');
  });

  it('a damaged state file makes the service start halted, never running', async () => {
    const first = await start();
    await first.waitUntilReady();
    await first.waitForLine(
      (l) => l.type === 'equity_sample' || (l.msg ?? '').includes('successfully started'),
    );
    first.kill('SIGTERM');
    await first.exited();
    const path = join(first.stateDir, 'risk-state.json');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, Math.floor(text.length / 2))); // truncated, as by a broken disk

    const second = await start({}, first.stateDir);
    await second.waitUntilReady();
    const status = await admin(second, 'GET', '/api/v1/status');
    expect(status.body).toMatchObject({
      state: 'halted',
      halt: expect.objectContaining({ source: 'untrusted_state' }),
    });
    expect((await postSignal(second.baseUrl, SECRET, signalBody())).status).toBe(423);
  });
});
