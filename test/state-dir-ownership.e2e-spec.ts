import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Nothing under STATE_DIR is written before this process owns it (docs/service.md, Start-up):
 * two starts at the same instant on a fresh STATE_DIR leave one running, with the admin token and
 * inbox secret that STATE_DIR holds, and a directory only its owner can read.
 */
describe('STATE_DIR ownership at start', () => {
  let parent: string;
  const started: TestApp[] = [];
  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), 'state-dir-ownership-'));
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((t) => t.close({ keepState: true })));
    await rm(parent, { recursive: true, force: true });
  });

  it('two starts at once: one runs with the secrets on disk, the other is refused having written nothing', async () => {
    for (let round = 0; round < 5; round++) {
      const dir = join(parent, `state-${round}`);
      const env = { ADMIN_TOKEN: '', SIGNALS_HMAC_SECRET: '' };
      const results = await Promise.allSettled([startTestApp(env, dir), startTestApp(env, dir)]);
      const running = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      started.push(...running);
      expect(running).toHaveLength(1);
      expect(refused[0]).toContain('is in use');
      const [t] = running;
      expect((await readFile(join(dir, 'admin-token'), 'utf8')).trim()).toBe(t.secrets.adminToken);
      expect((await readFile(join(dir, 'signals-secret'), 'utf8')).trim()).toBe(t.secrets.signalsHmacSecret);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      await t.close({ keepState: true });
      started.splice(started.indexOf(t), 1);
    }
  }, 60_000);
});
