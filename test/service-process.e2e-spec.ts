import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { postSignal, signalBody } from './support/signed-request';
import { ServiceProcess } from './support/service-process';
import { waitUntil } from './support/wait-until';

/** The compiled service as a process: config refusal, the log contract, graceful stop, kill -9. */
describe('the service process', () => {
  beforeAll(() => ServiceProcess.buildOnce(), 120_000);
  const started: ServiceProcess[] = [];
  const start = async (env: Record<string, string>, stateDir?: string) => {
    const service = await ServiceProcess.start(env, stateDir);
    started.push(service);
    return service;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
  });
  const secretOf = async (s: ServiceProcess) =>
    (await readFile(join(s.stateDir, 'signals-secret'), 'utf8')).trim();
  const adminOf = async (s: ServiceProcess) =>
    (await readFile(join(s.stateDir, 'admin-token'), 'utf8')).trim();
  const positions = async (s: ServiceProcess) => {
    const answer = await fetch(`${s.baseUrl}/api/v1/positions`, {
      headers: { authorization: `Bearer ${await adminOf(s)}` },
    });
    return ((await answer.json()) as { positions: { ticket: number; comment: string }[] }).positions;
  };

  it('refuses to start on bad config: exit 1 and one line naming each bad variable', async () => {
    const service = await start({
      DRAWDOWN_CAP_PERCENT: '0',
      MT5_GATEWAY: 'mt4',
      HEARTBEAT_INTERVAL_MS: 'soon',
    });
    const { code } = await service.exited();
    expect(code).toBe(1);
    const named = service.lines.filter((l) => l.type === 'config_error').map((l) => l.variable);
    expect(named.sort()).toEqual(['DRAWDOWN_CAP_PERCENT', 'HEARTBEAT_INTERVAL_MS', 'MT5_GATEWAY']);
  });

  it('refuses to start on a STATE_DIR another live process holds (one process per account), and takes it after kill -9', async () => {
    const first = await start({ SIGNAL_SOURCES: 'inbox' });
    await first.waitUntilReady();
    const second = await start({ SIGNAL_SOURCES: 'inbox' }, first.stateDir);
    const { code } = await second.exited();
    expect(code).toBe(1);
    const failed = second.lines.find((l) => l.type === 'startup_failed');
    expect(String(failed?.msg)).toContain(
      `STATE_DIR ${first.stateDir} is in use: pid ${first.pid} on this host holds it`,
    );
    // The first one trades on, undisturbed.
    expect((await fetch(`${first.baseUrl}/health/ready`)).status).toBe(200);

    first.kill('SIGKILL');
    await first.exited();
    const third = await start({ SIGNAL_SOURCES: 'inbox' }, first.stateDir);
    await third.waitUntilReady();
  });

  it('logs no warning on a clean start (and probes are not logged per request)', async () => {
    const service = await start({ SIGNAL_SOURCES: 'inbox' });
    await service.waitUntilReady();
    await fetch(`${service.baseUrl}/health/live`);
    await service.waitForLine((l) => l.msg === 'STATE_DIR locked and signal ledger loaded');
    const warnings = service.lines.filter((l) => typeof l.level === 'number' && l.level >= 40);
    expect(warnings).toEqual([]);
    expect(
      service.lines.filter((l) => String(l.req ? JSON.stringify(l.req) : '').includes('/health')),
    ).toEqual([]);
  });

  it('does not log secrets it is given', async () => {
    const service = await start({
      ADMIN_TOKEN: 'admin-token-that-must-not-leak',
      SIGNALS_HMAC_SECRET: 'hmac-secret-that-must-not-leak',
      HEARTBEAT_INTERVAL_MS: '100',
    });
    await service.waitUntilReady();
    await fetch(`${service.baseUrl}/api/v1/status`, {
      headers: { authorization: 'Bearer admin-token-that-must-not-leak' },
    });
    await service.waitForLine((l) => l.type === 'heartbeat');
    const all = service.rawStdout.join('\n');
    expect(all).not.toContain('admin-token-that-must-not-leak');
    expect(all).not.toContain('hmac-secret-that-must-not-leak');
  });

  it('logs heartbeats in the spec shape with cumulative counts', async () => {
    const service = await start({ HEARTBEAT_INTERVAL_MS: '200', LOOP_ID: 'proc-loop' });
    await service.waitUntilReady();
    const secret = await secretOf(service);
    for (let i = 0; i < 3; i++)
      expect((await postSignal(service.baseUrl, secret, signalBody())).status).toBe(202);
    const beat = await service.waitForLine(
      (l) => l.type === 'heartbeat' && (l.metrics as { trades: number }).trades === 3,
    );
    expect(beat).toMatchObject({ type: 'heartbeat', loop_id: 'proc-loop', level: 30 });
    expect(beat.metrics).toEqual({
      signals: 3,
      trades: 3,
      errors: 0,
      open_positions: expect.any(Number),
      equity: expect.any(Number),
      drawdown_percent: expect.any(Number),
      loop_duration_ms: expect.any(Number),
    });
  });

  it('on SIGTERM closes every open position, logs shutdown last, and exits 0 within 10 s', async () => {
    const service = await start({ CLOSE_ON_SHUTDOWN: 'true', HEARTBEAT_INTERVAL_MS: '1000' });
    await service.waitUntilReady();
    const secret = await secretOf(service);
    for (const instrument of ['EURUSD', 'USDJPY', 'XAUUSD']) {
      expect((await postSignal(service.baseUrl, secret, signalBody({ instrument }))).status).toBe(202);
    }
    await service.waitForLine(() => service.lines.filter((l) => l.type === 'trade_executed').length === 3);
    expect(await positions(service)).toHaveLength(3);

    const stopAsked = Date.now();
    service.kill('SIGTERM');
    const { code } = await service.exited();
    expect(code).toBe(0);
    expect(Date.now() - stopAsked).toBeLessThan(10_000);
    const last = service.lines[service.lines.length - 1];
    expect(last).toMatchObject({ type: 'shutdown', positions_closed: 3, positions_failed: 0 });
    const saved = JSON.parse(await readFile(join(service.stateDir, 'paper-account.json'), 'utf8')) as {
      snapshot: { positions: unknown[] };
    };
    expect(saved.snapshot.positions).toHaveLength(0);
  });

  it('after kill -9 and a restart, no signal id is executed twice', async () => {
    const env = { HEARTBEAT_INTERVAL_MS: '1000', LOOP_TICK_MS: '50', MAX_ORDERS_PER_SECOND: '1000' };
    const first = await start(env);
    await first.waitUntilReady();
    const secret = await secretOf(first);
    const bodies = Array.from({ length: 60 }, (_, i) =>
      signalBody({ id: `crash-${i}`, instrument: ['EURUSD', 'GBPUSD', 'USDJPY'][i % 3] }),
    );
    // Send while killing: some answers are lost with the process.
    const sending = (async () => {
      for (const body of bodies) await postSignal(first.baseUrl, secret, body).catch(() => undefined);
    })();
    await first.waitForLine(() => first.lines.filter((l) => l.type === 'trade_executed').length >= 15);
    first.kill('SIGKILL');
    await first.exited();
    await sending;

    const second = await start(env, first.stateDir);
    await second.waitUntilReady();
    // The sender retries everything it is unsure of: the service must answer duplicates and trade nothing twice.
    for (const body of bodies) {
      const answer = await postSignal(second.baseUrl, secret, body);
      expect([200, 202]).toContain(answer.status);
    }
    // Every signal ends: in a log line, or (when kill -9 fell between the ledger write and the
    // log line) only in the ledger. Both count; what may never happen is a second execution.
    const ended = async () => {
      const logged = [...first.lines, ...second.lines]
        .filter((l) => l.type === 'trade_executed' || l.type === 'trade_failed')
        .map((l) => l.signal_id as string);
      const ledger = (await readFile(join(first.stateDir, 'signals.jsonl'), 'utf8'))
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          try {
            return JSON.parse(line) as { id: string; status: string };
          } catch {
            return null;
          }
        })
        .filter(
          (r): r is { id: string; status: string } =>
            r !== null && (r.status === 'executed' || r.status === 'failed'),
        )
        .map((r) => r.id);
      return new Set([...logged, ...ledger]).size;
    };
    await waitUntil(async () => (await ended()) >= bodies.length, {
      what: `all ${bodies.length} signals to end`,
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    expect(await ended()).toBe(bodies.length);
    const executed = [...first.lines, ...second.lines]
      .filter((l) => l.type === 'trade_executed')
      .map((l) => l.signal_id as string);
    expect(new Set(executed).size).toBe(executed.length);
    const comments = (await positions(second)).map((p) => p.comment);
    expect(new Set(comments).size).toBe(comments.length);
    expect(comments).toHaveLength(bodies.length);
  });
});
