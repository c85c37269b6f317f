import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess } from './support/service-process';

/**
 * A supervisor that restarts the service the moment it dies: `kill -9` of the process group of
 * `npm run start:prod` orphans node, which then stays a zombie until PID 1 reaps it. Ownership of
 * STATE_DIR is an OS lock the kernel drops at death, so the restart never waits for the reaping
 * (docs/service.md, STATE_DIR ownership).
 */
describe('restart right after a crash', () => {
  beforeAll(() => ServiceProcess.buildOnce(), 120_000);
  let stateDir: string;
  const started: ServiceProcess[] = [];
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'trading-bot-restart-'));
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('starts every time when restarted at once after kill -9 of the npm process group, 20 rounds', async () => {
    for (let round = 1; round <= 20; round++) {
      const service = await ServiceProcess.start({}, stateDir, { viaNpm: true });
      started.push(service);
      await service.waitUntilReady(20_000).catch((error: unknown) => {
        throw new Error(`round ${round}: ${String(error)}`);
      });
      // The next start follows the kill at once: it does not even wait for npm's exit to be seen.
      service.killGroup('SIGKILL');
      started.splice(started.indexOf(service), 1);
    }
  }, 180_000);

  it('still refuses a second live process on the same STATE_DIR', async () => {
    const first = await ServiceProcess.start({}, stateDir, { viaNpm: true });
    started.push(first);
    await first.waitUntilReady(20_000);
    const second = await ServiceProcess.start({}, stateDir);
    started.push(second);
    expect((await second.exited()).code).toBe(1);
    const failed = second.lines.find((line) => line.type === 'startup_failed');
    expect(String(failed?.msg)).toMatch(
      new RegExp(`STATE_DIR ${stateDir} is in use: pid \\d+ on this host holds it`),
    );
    expect((await fetch(`${first.baseUrl}/health/ready`)).status).toBe(200);
  }, 60_000);
});
