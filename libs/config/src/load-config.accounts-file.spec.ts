import type { AccountConfig } from './account-config';
import { memoryFiles as filesOf, type ConfigFiles } from './config-files';
import { loadConfig, type ConfigResult } from './load-config';

const ENV = {
  ACCOUNTS_FILE: '/etc/bot/accounts.yaml',
  BOB_BRIDGE_SECRET: 'bob-bridge-secret',
  SIGNALS_HMAC_SECRET: 'inbox-secret-0123456789',
};

const YAML_FILE = `
defaults:                      # applied to every account
  drawdown_cap_percent: 20
  channels: [default]
accounts:
  - id: alice-01
    gateway: paper
    paper: { balance: 25000 }
  - id: bob-mt5
    gateway: http
    bridge: { url: "http://10.0.0.5:8080/t2", key_id: "k2", secret_env: BOB_BRIDGE_SECRET }
    drawdown_cap_percent: 10
    drawdown_baseline: peak
    daily_loss_cap_percent: 4
    daily_reset_timezone: Europe/Prague
    drawdown_warn_ratio: 0.5
    drawdown_confirm_reads: 3
    channels: [gold, fx-majors, gold]
    sizing: { mode: risk_percent, value: 1 }
    max_volume: 2
    max_orders_per_second: 5
    approval_mode: manual
    mt5_magic: 777
    mt5_timeout_ms: 5000
    mt5_max_retries: 0
    telegram_chat_id: -100123
    telegram_allowed_user_ids: [4242, 4242, 7]
  - id: carol.fx
    gateway: http
    bridge: { url: "https://Bridge.Example/t3/", key_id: "k3", secret_file: secrets/carol }
`;

/** The same file as JSON (YAML parses JSON too). */
const JSON_FILE = JSON.stringify({
  defaults: { drawdown_cap_percent: 20, channels: ['default'] },
  accounts: [
    { id: 'alice-01', gateway: 'paper', paper: { balance: 25000 } },
    {
      id: 'bob-mt5',
      gateway: 'http',
      bridge: { url: 'http://10.0.0.5:8080/t2', key_id: 'k2', secret_env: 'BOB_BRIDGE_SECRET' },
      drawdown_cap_percent: 10,
      drawdown_baseline: 'peak',
      daily_loss_cap_percent: 4,
      daily_reset_timezone: 'Europe/Prague',
      drawdown_warn_ratio: 0.5,
      drawdown_confirm_reads: 3,
      channels: ['gold', 'fx-majors', 'gold'],
      sizing: { mode: 'risk_percent', value: 1 },
      max_volume: 2,
      max_orders_per_second: 5,
      approval_mode: 'manual',
      mt5_magic: 777,
      mt5_timeout_ms: 5000,
      mt5_max_retries: 0,
      telegram_chat_id: -100123,
      telegram_allowed_user_ids: [4242, 4242, 7],
    },
    {
      id: 'carol.fx',
      gateway: 'http',
      bridge: { url: 'https://Bridge.Example/t3/', key_id: 'k3', secret_file: 'secrets/carol' },
    },
  ],
});

const BUILT_IN = {
  risk: {
    drawdownCapPercent: 20,
    baselineMode: 'start',
    dailyLossCapPercent: undefined,
    dailyResetTimezone: 'UTC',
    warnRatio: 0.8,
    confirmReads: 2,
  },
  maxVolume: 100,
  maxOrdersPerSecond: 50,
  approvalMode: 'auto',
  mt5: { magic: 19019, timeoutMs: 3000, maxRetries: 3 },
} as const;

const EXPECTED: AccountConfig[] = [
  {
    id: 'alice-01',
    gateway: 'paper',
    paper: { balance: 25000 },
    bridge: undefined,
    ...BUILT_IN,
    risk: { ...BUILT_IN.risk },
    mt5: { ...BUILT_IN.mt5 },
    channels: ['default'],
    sizing: { mode: 'multiplier', value: 1 },
    telegram: { chatId: undefined, allowedUserIds: [] },
  },
  {
    id: 'bob-mt5',
    gateway: 'http',
    paper: { balance: 10_000 },
    bridge: { url: 'http://10.0.0.5:8080/t2', keyId: 'k2', secret: 'bob-bridge-secret' },
    risk: {
      drawdownCapPercent: 10,
      baselineMode: 'peak',
      dailyLossCapPercent: 4,
      dailyResetTimezone: 'Europe/Prague',
      warnRatio: 0.5,
      confirmReads: 3,
    },
    maxVolume: 2,
    maxOrdersPerSecond: 5,
    approvalMode: 'manual',
    mt5: { magic: 777, timeoutMs: 5000, maxRetries: 0 },
    channels: ['gold', 'fx-majors'],
    sizing: { mode: 'risk_percent', value: 1 },
    telegram: { chatId: '-100123', allowedUserIds: [4242, 7] },
  },
  {
    id: 'carol.fx',
    gateway: 'http',
    paper: { balance: 10_000 },
    // The secret file's one trailing newline is not part of the secret.
    bridge: { url: 'https://Bridge.Example/t3/', keyId: 'k3', secret: 'carol-bridge-secret' },
    ...BUILT_IN,
    risk: { ...BUILT_IN.risk },
    mt5: { ...BUILT_IN.mt5 },
    channels: ['default'],
    sizing: { mode: 'multiplier', value: 1 },
    telegram: { chatId: undefined, allowedUserIds: [] },
  },
];

const loadFile = (text: string, env: Record<string, string | undefined> = {}): ConfigResult =>
  loadConfig(
    { ...ENV, ...env },
    filesOf({ '/etc/bot/accounts.yaml': text, '/etc/bot/secrets/carol': 'carol-bridge-secret\n' }),
  );

const accountsOf = (text: string, env: Record<string, string | undefined> = {}): AccountConfig[] => {
  const result = loadFile(text, env);
  if (!result.ok) throw new Error(`expected a valid config, got ${JSON.stringify(result.problems)}`);
  return result.config.accounts;
};

/** One paper account with `keys` (YAML flow mapping entries), and `defaults` if given. */
const oneAccount = (keys: string, defaults?: string): string =>
  `${defaults === undefined ? '' : `defaults: { ${defaults} }\n`}accounts:\n  - { id: a1, gateway: paper${keys === '' ? '' : `, ${keys}`} }\n`;

describe('loadConfig with ACCOUNTS_FILE: the accounts come from the file', () => {
  it('reads a full YAML file into the accounts, in file order', () => {
    expect(accountsOf(YAML_FILE)).toEqual(EXPECTED);
  });

  it('reads the same file written as JSON into the same accounts', () => {
    expect(accountsOf(JSON_FILE)).toEqual(EXPECTED);
  });

  it('keeps the path in accountsFile and reads it (and relative secret files) through the given files', () => {
    const read: string[] = [];
    const files: ConfigFiles = {
      readText: (path) => {
        read.push(path);
        return filesOf({
          '/etc/bot/accounts.yaml': YAML_FILE,
          '/etc/bot/secrets/carol': 'carol-bridge-secret\n',
        }).readText(path);
      },
    };
    const result = loadConfig(ENV, files);
    expect(result.ok && result.config.accountsFile).toBe('/etc/bot/accounts.yaml');
    expect(read).toEqual(['/etc/bot/accounts.yaml', '/etc/bot/secrets/carol']);
  });

  it('reads an absolute secret_file as it is', () => {
    const text = `accounts:\n  - { id: a1, gateway: http, bridge: { url: "http://b:1", key_id: k, secret_file: /run/secrets/a1 } }\n`;
    const result = loadConfig(
      ENV,
      filesOf({ '/etc/bot/accounts.yaml': text, '/run/secrets/a1': 'a1-secret-value\r\n' }),
    );
    expect(result.ok && result.config.accounts[0].bridge?.secret).toBe('a1-secret-value');
  });

  it('without ACCOUNTS_FILE trades the one account `default` from the environment, as before', () => {
    const result = loadConfig({ DRAWDOWN_CAP_PERCENT: '7' }, filesOf({}));
    expect(result.ok && result.config.accountsFile).toBeUndefined();
    expect(result.ok && result.config.accounts.map((a) => [a.id, a.risk.drawdownCapPercent])).toEqual([
      ['default', 7],
    ]);
  });
});

describe('loadConfig with ACCOUNTS_FILE: a key comes from the account, then defaults, then the variable, then the built-in default', () => {
  it.each([
    ['the account', 'drawdown_cap_percent: 5', 'drawdown_cap_percent: 8', { DRAWDOWN_CAP_PERCENT: '12' }, 5],
    ['defaults', '', 'drawdown_cap_percent: 8', { DRAWDOWN_CAP_PERCENT: '12' }, 8],
    ['the variable', '', 'max_volume: 3', { DRAWDOWN_CAP_PERCENT: '12' }, 12],
    ['the built-in default', '', undefined, {}, 20],
  ])('drawdown_cap_percent from %s', (_from, keys, defaults, env, expected) => {
    expect(accountsOf(oneAccount(keys, defaults), env)[0].risk.drawdownCapPercent).toBe(expected);
  });

  it('applies the same chain to every key that is also a variable', () => {
    const env = {
      DRAWDOWN_BASELINE: 'peak',
      DAILY_LOSS_CAP_PERCENT: '3',
      DAILY_RESET_TIMEZONE: 'Asia/Kolkata',
      DRAWDOWN_WARN_RATIO: '0.6',
      DRAWDOWN_CONFIRM_READS: '4',
      MAX_VOLUME: '9',
      MAX_ORDERS_PER_SECOND: '7',
      APPROVAL_MODE: 'manual',
      MT5_MAGIC: '4321',
      MT5_TIMEOUT_MS: '900',
      MT5_MAX_RETRIES: '1',
      PAPER_BALANCE: '777',
    };
    const [account] = accountsOf(oneAccount('mt5_magic: 55', 'max_volume: 4'), env);
    expect(account).toMatchObject({
      paper: { balance: 777 },
      risk: {
        baselineMode: 'peak',
        dailyLossCapPercent: 3,
        dailyResetTimezone: 'Asia/Kolkata',
        warnRatio: 0.6,
        confirmReads: 4,
      },
      maxVolume: 4,
      maxOrdersPerSecond: 7,
      approvalMode: 'manual',
      mt5: { magic: 55, timeoutMs: 900, maxRetries: 1 },
    });
  });

  it('takes the paper balance from the account, then defaults, then PAPER_BALANCE', () => {
    const env = { PAPER_BALANCE: '500' };
    expect(
      accountsOf(oneAccount('paper: { balance: 100 }', 'paper: { balance: 200 }'), env)[0].paper,
    ).toEqual({
      balance: 100,
    });
    expect(accountsOf(oneAccount('', 'paper: { balance: 200 }'), env)[0].paper).toEqual({ balance: 200 });
    expect(accountsOf(oneAccount(''), env)[0].paper).toEqual({ balance: 500 });
  });

  it('takes the gateway, channels, sizing and telegram keys from defaults too', () => {
    const text = `defaults:\n  gateway: paper\n  channels: [gold]\n  sizing: { mode: fixed, value: 0.5 }\n  telegram_allowed_user_ids: [9]\naccounts:\n  - id: a1\n  - { id: a2, channels: [fx], sizing: { mode: multiplier, value: 2 } }\n`;
    const [a1, a2] = accountsOf(text);
    expect([a1.gateway, a1.channels, a1.sizing, a1.telegram.allowedUserIds]).toEqual([
      'paper',
      ['gold'],
      { mode: 'fixed', value: 0.5 },
      [9],
    ]);
    expect([a2.channels, a2.sizing]).toEqual([['fx'], { mode: 'multiplier', value: 2 }]);
  });

  it('takes an empty `defaults:` (every entry commented out) as no defaults', () => {
    expect(accountsOf(`defaults:\n  # max_volume: 3\n${oneAccount('')}`)[0].maxVolume).toBe(100);
  });

  it('turns the daily cap off with null, over defaults and DAILY_LOSS_CAP_PERCENT', () => {
    const env = { DAILY_LOSS_CAP_PERCENT: '3' };
    expect(
      accountsOf(oneAccount('daily_loss_cap_percent: null'), env)[0].risk.dailyLossCapPercent,
    ).toBeUndefined();
    expect(
      accountsOf(oneAccount('', 'daily_loss_cap_percent: ~'), env)[0].risk.dailyLossCapPercent,
    ).toBeUndefined();
    expect(accountsOf(oneAccount(''), env)[0].risk.dailyLossCapPercent).toBe(3);
  });
});

describe('loadConfig with ACCOUNTS_FILE: the rules across sections', () => {
  const paperOnly = oneAccount('');
  const withHttp = `accounts:\n  - { id: a1, gateway: http, bridge: { url: "http://b:1", key_id: k, secret_env: BOB_BRIDGE_SECRET } }\n`;

  it('defaults SIGNAL_SOURCES to demo and inbox when every account is paper, to the inbox alone with an http one', () => {
    const paper = loadFile(paperOnly);
    expect(paper.ok && paper.config.signals.sources).toEqual(['demo', 'inbox']);
    const http = loadFile(withHttp);
    expect(http.ok && http.config.signals.sources).toEqual(['inbox']);
  });

  it('with an http account refuses the demo source and needs SIGNALS_HMAC_SECRET for the inbox', () => {
    const result = loadFile(withHttp, { SIGNAL_SOURCES: 'inbox,demo', SIGNALS_HMAC_SECRET: undefined });
    expect(result.ok ? [] : result.problems).toEqual([
      {
        variable: 'SIGNAL_SOURCES',
        expected:
          'no `demo` source when an account of ACCOUNTS_FILE has gateway http (demo signals never trade a real account)',
      },
      {
        variable: 'SIGNALS_HMAC_SECRET',
        expected:
          'at least 16 characters (required when an account of ACCOUNTS_FILE has gateway http and the inbox is on)',
      },
    ]);
  });

  it('lets paper accounts have demo signals and a generated inbox secret, whatever MT5_GATEWAY says', () => {
    expect(loadFile(paperOnly, { SIGNAL_SOURCES: 'demo,inbox', SIGNALS_HMAC_SECRET: undefined }).ok).toBe(
      true,
    );
    expect(loadFile(paperOnly, { MT5_GATEWAY: 'http', SIGNALS_HMAC_SECRET: undefined }).ok).toBe(true);
  });

  it('does not need MT5_BRIDGE_* for http accounts, and warns that they are ignored when set', () => {
    const result = loadFile(withHttp, {
      MT5_GATEWAY: 'http',
      MT5_BRIDGE_URL: 'http://old-bridge:8000',
      MT5_BRIDGE_SECRET: 'old-bridge-secret',
    });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.warnings.map((w) => w.variable)).toEqual(['MT5_BRIDGE_URL', 'MT5_BRIDGE_SECRET']);
    expect(result.warnings[0].expected).toContain('ignored');
    expect(JSON.stringify(result.warnings)).not.toContain('old-bridge-secret');
    expect(loadFile(withHttp).ok && loadFile(withHttp)).toMatchObject({ warnings: [] });
  });
});
