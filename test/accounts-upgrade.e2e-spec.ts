import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postSignal, signalBody } from './support/signed-request';
import { startTestApp, type TestApp } from './support/test-app';

const SECRET = 'inbox-secret-for-the-upgrade';

/**
 * An upgrade never resumes a halted account (docs/accounts.md, Compatibility): a STATE_DIR written
 * by a single-account service keeps its halt when the same directory is served with ACCOUNTS_FILE.
 */
describe('upgrading a single-account STATE_DIR to an accounts file', () => {
  let dir: string;
  let app: TestApp | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'accounts-upgrade-'));
  });

  afterEach(async () => {
    await app?.close({ keepState: true });
    app = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** A single-account service on `state`, halted by hand, then stopped. */
  async function haltedSingleAccount(state: string): Promise<void> {
    const single = await startTestApp({ SIGNALS_HMAC_SECRET: SECRET }, state);
    expect((await single.admin('POST', '/api/v1/halt', { reason: 'before the upgrade' })).status).toBe(200);
    await single.close({ keepState: true });
  }

  async function accountsFile(text: string): Promise<string> {
    const path = join(dir, 'accounts.yaml');
    await writeFile(path, text);
    return path;
  }

  it('keeps the halt on the account `default`, which reads the old state, while the new accounts trade', async () => {
    const state = join(dir, 'state');
    await haltedSingleAccount(state);
    const file = await accountsFile(
      'accounts:\n  - { id: default, gateway: paper }\n  - { id: alice-01, gateway: paper }\n',
    );
    app = await startTestApp({ ACCOUNTS_FILE: file, SIGNALS_HMAC_SECRET: SECRET }, state);
    const status = await app.admin('GET', '/api/v1/accounts/default/status');
    expect(status.body).toMatchObject({
      state: 'halted',
      halt: { reason: 'before the upgrade (by admin api)' },
    });
    const body = signalBody();
    expect((await postSignal(app.baseUrl, SECRET, body)).body).toMatchObject({ accounts: 1 });
    await app.waitForEvent(
      'trade_executed',
      (e) => e.payload.signal_id === body.id && e.account_id === 'alice-01',
    );
    expect(app.eventsOf('signal_rejected').find((e) => e.payload.signal_id === body.id)).toMatchObject({
      account_id: 'default',
      payload: { reason: 'halted' },
    });
  });

  it('refuses to start when the old state holds a halt and the file has no account `default`', async () => {
    const state = join(dir, 'state');
    await haltedSingleAccount(state);
    const file = await accountsFile('accounts:\n  - { id: alice-01, gateway: paper }\n');
    await expect(startTestApp({ ACCOUNTS_FILE: file, SIGNALS_HMAC_SECRET: SECRET }, state)).rejects.toThrow(
      /risk-state\.json holds a halt of the single account .* no account `default`/,
    );
  });
});
