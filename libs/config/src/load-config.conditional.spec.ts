import { loadConfig, type ConfigProblem } from './load-config';

const HTTP_OK = {
  MT5_GATEWAY: 'http',
  MT5_BRIDGE_URL: 'http://mt5-bridge:8000',
  MT5_BRIDGE_KEY_ID: 'key-1',
  MT5_BRIDGE_SECRET: 'bridge-secret-123',
  SIGNALS_HMAC_SECRET: 'inbox-secret-0123456789',
};
const PLATFORM_OK = {
  PLATFORM_API_URL: 'https://platform.example/api',
  PLATFORM_API_KEY_ID: 'pk-1',
  PLATFORM_API_SECRET: 'platform-secret',
};

const problems = (env: Record<string, string | undefined>): ConfigProblem[] => {
  const result = loadConfig(env);
  return result.ok ? [] : result.problems;
};
const variables = (env: Record<string, string | undefined>): string[] =>
  problems(env)
    .map((p) => p.variable)
    .sort();

describe('loadConfig: conditional requirements', () => {
  it('accepts a complete http configuration', () => {
    expect(problems(HTTP_OK)).toEqual([]);
  });

  it('with MT5_GATEWAY=http names each missing bridge variable and the inbox secret, all at once', () => {
    expect(variables({ MT5_GATEWAY: 'http' })).toEqual([
      'MT5_BRIDGE_KEY_ID',
      'MT5_BRIDGE_SECRET',
      'MT5_BRIDGE_URL',
      'SIGNALS_HMAC_SECRET',
    ]);
    for (const problem of problems({ MT5_GATEWAY: 'http' }))
      expect(problem.expected).toContain('MT5_GATEWAY=http');
  });

  it.each(['MT5_BRIDGE_URL', 'MT5_BRIDGE_KEY_ID', 'MT5_BRIDGE_SECRET', 'SIGNALS_HMAC_SECRET'])(
    'with http, refuses a missing %s alone',
    (variable) => {
      expect(variables({ ...HTTP_OK, [variable]: undefined })).toEqual([variable]);
    },
  );

  it('does not need the bridge variables or the inbox secret with the paper gateway', () => {
    expect(problems({ MT5_GATEWAY: 'paper' })).toEqual([]);
  });

  it('refuses a bridge URL that is not http(s), once, not twice', () => {
    expect(problems({ ...HTTP_OK, MT5_BRIDGE_URL: 'bridge:8000' }).map((p) => p.variable)).toEqual([
      'MT5_BRIDGE_URL',
    ]);
    expect(problems({ ...HTTP_OK, MT5_BRIDGE_URL: 'ws://bridge:8000' }).map((p) => p.variable)).toEqual([
      'MT5_BRIDGE_URL',
    ]);
  });

  it('refuses the demo source with the http gateway (demo signals never trade a real account)', () => {
    const found = problems({ ...HTTP_OK, SIGNAL_SOURCES: 'inbox,demo' });
    expect(found.map((p) => p.variable)).toEqual(['SIGNAL_SOURCES']);
    expect(found[0].expected).toContain('demo');
    expect(variables({ ...HTTP_OK, SIGNAL_SOURCES: 'demo' })).toEqual(['SIGNAL_SOURCES']);
  });

  it('does not need the inbox secret with http when the inbox is off', () => {
    expect(
      problems({ ...HTTP_OK, SIGNALS_HMAC_SECRET: undefined, SIGNAL_SOURCES: 'platform', ...PLATFORM_OK }),
    ).toEqual([]);
  });

  it('needs every PLATFORM_* variable when the platform source is on, with either gateway', () => {
    expect(variables({ SIGNAL_SOURCES: 'platform' })).toEqual([
      'PLATFORM_API_KEY_ID',
      'PLATFORM_API_SECRET',
      'PLATFORM_API_URL',
    ]);
    expect(variables({ ...HTTP_OK, SIGNAL_SOURCES: 'inbox,platform' })).toEqual([
      'PLATFORM_API_KEY_ID',
      'PLATFORM_API_SECRET',
      'PLATFORM_API_URL',
    ]);
    expect(variables({ SIGNAL_SOURCES: 'platform', ...PLATFORM_OK, PLATFORM_API_SECRET: '' })).toEqual([
      'PLATFORM_API_SECRET',
    ]);
    expect(problems({ SIGNAL_SOURCES: 'demo,platform', ...PLATFORM_OK })).toEqual([]);
    for (const problem of problems({ SIGNAL_SOURCES: 'platform' }))
      expect(problem.expected).toContain('platform');
  });

  it('does not need PLATFORM_* when the platform source is off', () => {
    expect(problems({ SIGNAL_SOURCES: 'inbox' })).toEqual([]);
  });

  it('reports conditional and plain problems together', () => {
    expect(variables({ MT5_GATEWAY: 'http', SIGNAL_SOURCES: 'demo,platform', PORT: 'x' })).toEqual([
      'MT5_BRIDGE_KEY_ID',
      'MT5_BRIDGE_SECRET',
      'MT5_BRIDGE_URL',
      'PLATFORM_API_KEY_ID',
      'PLATFORM_API_SECRET',
      'PLATFORM_API_URL',
      'PORT',
      'SIGNAL_SOURCES',
    ]);
  });
});
