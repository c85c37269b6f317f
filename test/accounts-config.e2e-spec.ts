import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess } from './support/service-process';

const INLINE_SECRET = 'inline-secret-that-must-not-leak';

/** The service process with ACCOUNTS_FILE: a bad file stops it before anything trades, naming account and key. */
describe('the service process with ACCOUNTS_FILE', () => {
  beforeAll(() => ServiceProcess.buildOnce(), 120_000);
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'accounts-file-'));
  });
  const started: ServiceProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
  });
  const startWith = async (name: string, text: string, env: Record<string, string> = {}) => {
    const path = join(dir, `${name}.yaml`);
    await writeFile(path, text);
    // The inbox secret an http account needs: only the file's problems are under test.
    const service = await ServiceProcess.start({
      ACCOUNTS_FILE: path,
      SIGNALS_HMAC_SECRET: 'inbox-secret-0123456789',
      ...env,
    });
    started.push(service);
    return service;
  };

  it.each([
    [
      'an inline secret',
      `accounts:\n  - id: bob-mt5\n    gateway: http\n    bridge: { url: "http://127.0.0.1:9", key_id: k2, secret: ${INLINE_SECRET} }\n`,
      'bob-mt5',
      'bridge.secret',
      'absent: a secret is never inline; use secret_env (a variable) or secret_file (a path)',
    ],
    [
      'a duplicate id',
      'accounts:\n  - { id: alice-01, gateway: paper }\n  - { id: alice-01, gateway: paper }\n',
      'alice-01',
      'id',
      'an id no other account has, ignoring case (accounts[0] has it too)',
    ],
    [
      'an unknown key',
      'accounts:\n  - { id: alice-01, gateway: paper, drawdown_cap: 10 }\n',
      'alice-01',
      'drawdown_cap',
      expect.stringContaining('absent: not a known key here (known: id, bridge, gateway,'),
    ],
    [
      'a bad value',
      'accounts:\n  - { id: bob-mt5, gateway: paper, drawdown_cap_percent: 0 }\n',
      'bob-mt5',
      'drawdown_cap_percent',
      'a number, 0 < x <= 100',
    ],
  ])(
    'refuses %s: exit 1 and a line naming the account and the key',
    async (name, text, account, key, expected) => {
      const service = await startWith(name.replaceAll(' ', '-'), text);
      expect((await service.exited()).code).toBe(1);
      const errors = service.lines.filter((l) => l.type === 'config_error');
      expect(errors).toEqual([
        expect.objectContaining({ level: 60, variable: 'ACCOUNTS_FILE', account_id: account, key, expected }),
      ]);
      expect(errors[0].msg).toBe(
        `invalid configuration: ACCOUNTS_FILE account ${account} key ${key} must be ${errors[0].expected as string}`,
      );
      expect(service.rawStdout.join('\n')).not.toContain(INLINE_SECRET);
    },
  );

  it('starts with a valid file of two paper accounts, each in its own directory', async () => {
    const service = await startWith(
      'valid',
      'defaults: { drawdown_cap_percent: 15 }\naccounts:\n' +
        '  - { id: alice-01, gateway: paper, paper: { balance: 5000 } }\n' +
        '  - { id: alice-02, gateway: paper }\n',
    );
    await service.waitUntilReady();
    expect(service.lines.filter((l) => l.type === 'config_error' || l.type === 'config_warning')).toEqual([]);
  });
});
