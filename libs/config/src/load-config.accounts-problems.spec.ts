import { memoryFiles } from './config-files';
import { loadConfig, type ConfigProblem } from './load-config';

const FILE = '/etc/bot/accounts.yaml';
const SECRET = 'do-not-log-this-secret';
const ENV = { ACCOUNTS_FILE: FILE, A_SECRET: SECRET, SIGNALS_HMAC_SECRET: 'inbox-secret-0123456789' };

const problemsOf = (
  text: string,
  env: Record<string, string | undefined> = {},
  files: Record<string, string> = {},
): ConfigProblem[] => {
  const result = loadConfig({ ...ENV, ...env }, memoryFiles({ [FILE]: text, ...files }));
  if (result.ok) throw new Error(`expected the file to be refused:\n${text}`);
  return result.problems;
};

/** `account key` of each problem: what the operator is told to look at. */
const where = (problems: ConfigProblem[]): string[] =>
  problems.map((p) => `${p.account ?? '-'} ${p.key ?? '-'}`).sort();

const BRIDGE = 'url: "http://b:1", key_id: k, secret_env: A_SECRET';
const paper = (id: string, keys = '') =>
  `  - { id: ${id}, gateway: paper${keys === '' ? '' : `, ${keys}`} }\n`;
const http = (id: string, bridge = BRIDGE, keys = '') =>
  `  - { id: ${id}, gateway: http, bridge: { ${bridge} }${keys === '' ? '' : `, ${keys}`} }\n`;
const file = (...accounts: string[]) => `accounts:\n${accounts.join('')}`;

describe('loadConfig with ACCOUNTS_FILE: each problem names the account and the key', () => {
  it('refuses an inline secret and says where the secret goes instead', () => {
    const found = problemsOf(file(http('bob', `url: "http://b:1", key_id: k, secret: ${SECRET}`)));
    expect(found).toEqual([
      {
        variable: 'ACCOUNTS_FILE',
        account: 'bob',
        key: 'bridge.secret',
        expected: expect.stringMatching(/secret_env.*secret_file/),
      },
    ]);
    expect(JSON.stringify(found)).not.toContain(SECRET);
  });

  it('names a duplicate id, also when only the case differs', () => {
    const found = problemsOf(file(paper('alice'), paper('bob'), paper('alice'), paper('Bob')));
    expect(where(found)).toEqual(['Bob id', 'alice id']);
    expect(found.find((p) => p.account === 'alice')?.expected).toContain('accounts[0]');
  });

  it.each([
    ['the top level', 'colour: red\naccounts:\n' + paper('a1'), '- colour'],
    ['defaults', 'defaults: { colour: red }\naccounts:\n' + paper('a1'), '- defaults.colour'],
    ['an account', file(paper('a1', 'colour: red')), 'a1 colour'],
    ['bridge', file(http('a1', `${BRIDGE}, colour: red`)), 'a1 bridge.colour'],
    ['paper', file(paper('a1', 'paper: { balance: 5, colour: red }')), 'a1 paper.colour'],
    ['sizing', file(paper('a1', 'sizing: { mode: fixed, value: 1, colour: red }')), 'a1 sizing.colour'],
  ])('names an unknown key in %s', (_level, text, expected) => {
    const found = problemsOf(text);
    expect(where(found)).toEqual([expected]);
    expect(found[0].expected).toContain('not a known key');
  });

  it.each([
    ['drawdown_cap_percent: 0', 'drawdown_cap_percent', 'a number, 0 < x <= 100'],
    ['drawdown_cap_percent: "20"', 'drawdown_cap_percent', 'a number, 0 < x <= 100'],
    ['drawdown_baseline: high', 'drawdown_baseline', '`start` or `peak`'],
    ['daily_loss_cap_percent: 101', 'daily_loss_cap_percent', 'a number, 0 < x <= 100'],
    [
      'daily_reset_timezone: Europe/Praha',
      'daily_reset_timezone',
      'an IANA time zone such as UTC or Europe/Prague',
    ],
    ['drawdown_warn_ratio: 1', 'drawdown_warn_ratio', 'a number, 0 < x < 1'],
    ['drawdown_confirm_reads: 1.5', 'drawdown_confirm_reads', 'an integer, 1 to 100'],
    ['max_volume: .inf', 'max_volume', 'a number of lots, 0 < x <= 10000'],
    ['max_orders_per_second: 0', 'max_orders_per_second', 'an integer, 1 to 100000'],
    ['approval_mode: semi', 'approval_mode', '`auto` or `manual`'],
    ['mt5_magic: 0', 'mt5_magic', 'an integer from 1 to 2147483647 (0 marks manual trades)'],
    ['mt5_timeout_ms: 5', 'mt5_timeout_ms', 'an integer of milliseconds, 10 to 120000'],
    ['mt5_max_retries: 11', 'mt5_max_retries', 'an integer, 0 to 10'],
    ['max_volume: null', 'max_volume', 'a number of lots, 0 < x <= 10000'],
    ['paper: { balance: 0 }', 'paper.balance', 'a positive number'],
    ['paper: 5000', 'paper', 'a mapping: { balance }'],
    ['channels: []', 'channels', expect.stringContaining('non-empty list')],
    ['channels: [gold, "fx majors"]', 'channels', expect.stringContaining('1-64 of')],
    ['sizing: { mode: fixed, value: 10001 }', 'sizing.value', 'a number of lots, 0 < x <= 10000'],
    ['sizing: { mode: multiplier, value: 0 }', 'sizing.value', expect.stringContaining('0 < x <= 1000')],
    ['sizing: { mode: risk_percent, value: 100.5 }', 'sizing.value', 'a percent of equity, 0 < x <= 100'],
    ['sizing: { mode: kelly, value: 1 }', 'sizing.mode', '`multiplier`, `fixed` or `risk_percent`'],
    ['sizing: { mode: fixed }', 'sizing.value', 'a number (required)'],
    ['telegram_chat_id: "chat"', 'telegram_chat_id', 'a numeric chat id or @channelname'],
    ['telegram_chat_id: 1.5', 'telegram_chat_id', 'a numeric chat id or @channelname'],
    ['telegram_allowed_user_ids: [1, 0]', 'telegram_allowed_user_ids', expect.stringContaining('positive')],
    ['gateway: mt4', 'gateway', '`paper` or `http`'],
  ])('refuses %s as key %s', (keys, key, expected) => {
    const text = file(`  - { id: a1, ${keys.startsWith('gateway') ? keys : `gateway: paper, ${keys}`} }\n`);
    expect(problemsOf(text)).toEqual([{ variable: 'ACCOUNTS_FILE', account: 'a1', key, expected }]);
  });

  it('names a bad value in defaults by its key under defaults', () => {
    expect(problemsOf('defaults: { max_volume: 0 }\naccounts:\n' + paper('a1'))).toEqual([
      { variable: 'ACCOUNTS_FILE', key: 'defaults.max_volume', expected: 'a number of lots, 0 < x <= 10000' },
    ]);
  });

  it('refuses id and bridge in defaults (a bridge is one terminal, never shared)', () => {
    const text = `defaults: { id: x, bridge: { ${BRIDGE} } }\naccounts:\n${paper('a1')}`;
    const found = problemsOf(text);
    expect(where(found)).toEqual(['- defaults.bridge', '- defaults.id']);
    expect(found.find((p) => p.key === 'defaults.bridge')?.expected).toContain('never shared');
  });

  it('names a bad or missing id by the account position', () => {
    const text = file(paper('"has space"'), '  - { gateway: paper }\n', '  - { id: 42, gateway: paper }\n');
    expect(where(problemsOf(text))).toEqual(['accounts[0] id', 'accounts[1] id', 'accounts[2] id']);
    expect(where(problemsOf(file(paper('x'.repeat(65)))))).toEqual(['accounts[0] id']);
  });

  it('refuses the ids . and .. (an id names its directory under STATE_DIR/accounts)', () => {
    expect(where(problemsOf(file(paper('"."'), paper('".."'))))).toEqual([
      'accounts[0] id',
      'accounts[1] id',
    ]);
  });

  it('names an account that is not a mapping by its position', () => {
    expect(problemsOf(file('  - alice\n'))).toEqual([
      { variable: 'ACCOUNTS_FILE', account: 'accounts[0]', expected: 'a mapping: one account' },
    ]);
  });

  it('needs a gateway, on the account or in defaults', () => {
    const found = problemsOf(file('  - { id: a1 }\n'));
    expect(where(found)).toEqual(['a1 gateway']);
    expect(found[0].expected).toContain('defaults');
    // A bad gateway in defaults is one problem, not one more per account.
    expect(
      where(problemsOf(`defaults: { gateway: mt4 }\n${file('  - { id: a1 }\n', '  - { id: a2 }\n')}`)),
    ).toEqual(['- defaults.gateway']);
    expect(
      loadConfig(
        { ...ENV },
        memoryFiles({ [FILE]: `defaults: { gateway: paper }\n${file('  - { id: a1 }\n')}` }),
      ).ok,
    ).toBe(true);
  });

  it('refuses a bridge on a paper account and paper on an http account', () => {
    const found = problemsOf(
      file(paper('a1', `bridge: { ${BRIDGE} }`), http('a2', BRIDGE, 'paper: { balance: 5 }')),
    );
    expect(where(found)).toEqual(['a1 bridge', 'a2 paper']);
  });

  it('needs a whole bridge on an http account', () => {
    expect(where(problemsOf(file('  - { id: a1, gateway: http }\n')))).toEqual(['a1 bridge']);
    expect(where(problemsOf(file(http('a1', 'key_id: k'))))).toEqual([
      'a1 bridge.secret_env',
      'a1 bridge.url',
    ]);
    expect(where(problemsOf(file(http('a1', 'url: "ftp://b", key_id: "", secret_env: A_SECRET'))))).toEqual([
      'a1 bridge.key_id',
      'a1 bridge.url',
    ]);
    expect(where(problemsOf(file(http('a1', `${BRIDGE}, secret_file: /s`))))).toEqual([
      'a1 bridge.secret_file',
    ]);
  });

  it('refuses a secret_env variable that is unset, empty or too short, without naming its value', () => {
    for (const env of [{ A_SECRET: undefined }, { A_SECRET: '  ' }, { A_SECRET: 'short' }]) {
      const found = problemsOf(file(http('a1')), env);
      expect(where(found)).toEqual(['a1 bridge.secret_env']);
      expect(JSON.stringify(found)).not.toContain('short"');
    }
    // A secret put where the variable's name goes is not echoed back.
    const found = problemsOf(file(http('a1', `url: "http://b:1", key_id: k, secret_env: "${SECRET}"`)));
    expect(where(found)).toEqual(['a1 bridge.secret_env']);
    expect(JSON.stringify(found)).not.toContain(SECRET);
  });

  it('refuses a secret_file that cannot be read or is empty, without naming its path or content', () => {
    const bridge = 'url: "http://b:1", key_id: k, secret_file: /run/secrets/a1';
    const unreadable = problemsOf(file(http('a1', bridge)));
    expect(unreadable).toEqual([
      {
        variable: 'ACCOUNTS_FILE',
        account: 'a1',
        key: 'bridge.secret_file',
        expected: 'a readable file (cannot read it: ENOENT)',
      },
    ]);
    for (const content of ['', '\n', 'short\n'])
      expect(where(problemsOf(file(http('a1', bridge)), {}, { '/run/secrets/a1': content }))).toEqual([
        'a1 bridge.secret_file',
      ]);
    expect(
      JSON.stringify(problemsOf(file(http('a1', bridge)), {}, { '/run/secrets/a1': 'short' })),
    ).not.toContain('short"');
  });

  it('refuses two accounts on the same terminal, whatever the spelling of its URL', () => {
    const found = problemsOf(
      file(
        http('a1', 'url: "http://Bridge.Example:80/t1/", key_id: k, secret_env: A_SECRET'),
        http('a2', 'url: "http://bridge.example/t1", key_id: k2, secret_env: A_SECRET'),
        http('a3', 'url: "http://bridge.example/t2", key_id: k3, secret_env: A_SECRET'),
        http('a4', 'url: "https://bridge.example:8443", key_id: k4, secret_env: A_SECRET'),
        http('a5', 'url: "https://BRIDGE.example:8443/", key_id: k5, secret_env: A_SECRET'),
      ),
    );
    expect(where(found)).toEqual(['a2 bridge.url', 'a5 bridge.url']);
    expect(found[0].expected).toContain('a1');
  });

  it.each([
    [
      'bad YAML',
      'accounts:\n  - id: a1\n   gateway: [',
      /^valid YAML or JSON \(.* at line \d+, column \d+\)$/,
    ],
    ['bad JSON', '{"accounts": [}', /^valid YAML or JSON \(.* at line 1, column \d+\)$/],
    [
      'a duplicate key',
      'accounts: []\naccounts: []',
      /^valid YAML or JSON \(duplicate key at line 2, column 1\)$/,
    ],
    ['an unresolved alias', 'accounts: *nowhere', /^valid YAML or JSON \(an alias cannot be resolved\)$/],
    ['no mapping', '- id: a1', /^a mapping with `accounts`/],
    ['an empty file', '', /^a mapping with `accounts`/],
  ])(
    'refuses %s as one problem of ACCOUNTS_FILE, with where when the parser says',
    (_what, text, expected) => {
      const found = problemsOf(text);
      expect(found).toEqual([{ variable: 'ACCOUNTS_FILE', expected: expect.stringMatching(expected) }]);
    },
  );

  it('never quotes the file in a parse error (it may hold a secret by mistake)', () => {
    const found = problemsOf(`accounts:\n  - { id: a1, secret: "${SECRET}\\q" }\n  bad: [`);
    expect(found).toHaveLength(1);
    expect(JSON.stringify(found)).not.toContain(SECRET.slice(0, 8));
  });

  it('refuses a file that cannot be read, as one problem naming why', () => {
    const result = loadConfig({ ...ENV }, memoryFiles({}));
    expect(result.ok ? [] : result.problems).toEqual([
      {
        variable: 'ACCOUNTS_FILE',
        expected: `a readable YAML or JSON file (ENOENT: no such file or directory, open '${FILE}')`,
      },
    ]);
  });

  it.each([
    ['no accounts key', 'defaults: {}'],
    ['an empty list', 'accounts: []'],
    ['not a list', 'accounts: { id: a1 }'],
    ['more than 10000 accounts', file(...Array.from({ length: 10_001 }, (_, i) => paper(`a${i}`)))],
  ])('needs 1 to 10000 accounts: refuses %s', (_what, text) => {
    expect(problemsOf(text)).toEqual([
      { variable: 'ACCOUNTS_FILE', key: 'accounts', expected: 'a list of 1 to 10000 accounts' },
    ]);
  });

  it('accepts 10000 accounts', () => {
    const text = file(...Array.from({ length: 10_000 }, (_, i) => paper(`a${i}`)));
    const result = loadConfig({ ...ENV }, memoryFiles({ [FILE]: text }));
    expect(result.ok && result.config.accounts).toHaveLength(10_000);
  });

  it('reports every problem of the file together, with those of the environment', () => {
    const text = [
      'colour: red',
      'defaults: { max_volume: -1 }',
      'accounts:',
      '  - { id: a1, gateway: paper, drawdown_cap_percent: 0, sizing: { mode: fixed, value: 0 } }',
      `  - { id: a2, gateway: http, bridge: { url: "http://b:1", key_id: k, secret: ${SECRET} } }`,
      `  - { id: a3, gateway: http, bridge: { url: "http://b:1/", key_id: k, secret_env: MISSING_SECRET } }`,
      '  - { id: a1, gateway: paper }',
      '  - { gateway: paper }',
    ].join('\n');
    const found = problemsOf(text, { PORT: 'x' });
    expect(found.map((p) => `${p.variable} ${p.account ?? '-'} ${p.key ?? '-'}`).sort()).toEqual([
      'ACCOUNTS_FILE - colour',
      'ACCOUNTS_FILE - defaults.max_volume',
      'ACCOUNTS_FILE a1 drawdown_cap_percent',
      'ACCOUNTS_FILE a1 id',
      'ACCOUNTS_FILE a1 sizing.value',
      'ACCOUNTS_FILE a2 bridge.secret',
      'ACCOUNTS_FILE a3 bridge.secret_env',
      'ACCOUNTS_FILE a3 bridge.url',
      'ACCOUNTS_FILE accounts[4] id',
      'PORT - -',
    ]);
    expect(JSON.stringify(found)).not.toContain(SECRET);
  });
});
