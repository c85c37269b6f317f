import { loadConfig, type ConfigProblem } from './load-config';

const problems = (env: Record<string, string | undefined>): ConfigProblem[] => {
  const result = loadConfig(env);
  if (result.ok) throw new Error(`expected ${JSON.stringify(env)} to be refused`);
  return result.problems;
};
const variables = (env: Record<string, string | undefined>): string[] =>
  problems(env)
    .map((p) => p.variable)
    .sort();

describe('loadConfig: bad values are named, every one of them', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['LOG_LEVEL', 'verbose'],
    ['LOOP_ID', 'has space'],
    ['LOOP_TICK_MS', '0'],
    ['HEARTBEAT_INTERVAL_MS', 'ten'],
    ['EQUITY_CHECK_INTERVAL_MS', '5'],
    ['DRAWDOWN_BASELINE', 'high'],
    ['DAILY_LOSS_CAP_PERCENT', '0'],
    ['DAILY_LOSS_CAP_PERCENT', '101'],
    ['DRAWDOWN_WARN_RATIO', '1'],
    ['DRAWDOWN_WARN_RATIO', '0'],
    ['DRAWDOWN_CONFIRM_READS', '0'],
    ['DRAWDOWN_CONFIRM_READS', '1.5'],
    ['CLOSE_ON_SHUTDOWN', 'maybe'],
    ['DEBUG_FAULTS', 'on'],
    ['ADMIN_TOKEN', 'short'],
    ['MT5_GATEWAY', 'mt4'],
    ['MT5_TIMEOUT_MS', '0'],
    ['MT5_MAX_RETRIES', '-1'],
    ['MT5_MAX_RETRIES', '11'],
    ['MT5_MAGIC', '-5'],
    ['MT5_MAGIC', '0'],
    ['PAPER_BALANCE', '0'],
    ['PAPER_BALANCE', 'Infinity'],
    ['PAPER_SYMBOLS', 'EUR USD'],
    ['PAPER_SYMBOLS', ','],
    ['PAPER_SEED', '1.5'],
    ['PAPER_STOP_OUT_LEVEL', '0'],
    ['PAPER_STOP_OUT_LEVEL', '-10'],
    ['PAPER_STOP_OUT_LEVEL', '1000.5'],
    ['PAPER_STOP_OUT_LEVEL', 'half'],
    ['SIGNAL_SOURCES', 'inbox,telegram'],
    ['SIGNAL_SOURCES', ' , '],
    ['SIGNAL_MAX_AGE_MS', '999'],
    ['APPROVAL_MODE', 'semi'],
    ['MAX_VOLUME', '0'],
    ['MAX_VOLUME', 'NaN'],
    ['MAX_ORDERS_PER_SECOND', '0'],
    ['DEMO_SIGNALS_PER_MINUTE', '-1'],
    ['TELEGRAM_API_ROOT', 'ftp://api.telegram.org'],
    ['TELEGRAM_ALLOWED_USER_IDS', '12,abc'],
    ['ANALYTICS_WEBHOOK_URLS', 'http://ok.example,not a url'],
    ['HISTORY_RETENTION_DAYS', '0'],
    ['HISTORY_RETENTION_DAYS', '7.5'],
    ['SIGNALS_HMAC_SECRET', 'too-short'],
  ])('refuses %s=%j by name, with what is expected', (variable, value) => {
    const found = problems({ [variable]: value });
    expect(found.map((p) => p.variable)).toEqual([variable]);
    expect(found[0].expected.length).toBeGreaterThan(5);
  });

  it('bounds DRAWDOWN_CAP_PERCENT to 0 < x <= 100', () => {
    expect(variables({ DRAWDOWN_CAP_PERCENT: '0' })).toEqual(['DRAWDOWN_CAP_PERCENT']);
    expect(variables({ DRAWDOWN_CAP_PERCENT: '-5' })).toEqual(['DRAWDOWN_CAP_PERCENT']);
    expect(variables({ DRAWDOWN_CAP_PERCENT: '100.1' })).toEqual(['DRAWDOWN_CAP_PERCENT']);
    expect(variables({ DRAWDOWN_CAP_PERCENT: 'twenty' })).toEqual(['DRAWDOWN_CAP_PERCENT']);
    const ok100 = loadConfig({ DRAWDOWN_CAP_PERCENT: '100' });
    expect(ok100.ok && ok100.config.risk.drawdownCapPercent).toBe(100);
    const small = loadConfig({ DRAWDOWN_CAP_PERCENT: '0.01' });
    expect(small.ok && small.config.risk.drawdownCapPercent).toBe(0.01);
    expect(problems({ DRAWDOWN_CAP_PERCENT: '0' })[0].expected).toBe('a number, 0 < x <= 100');
  });

  it('bounds PAPER_STOP_OUT_LEVEL to 0 < x <= 1000 percent', () => {
    expect(problems({ PAPER_STOP_OUT_LEVEL: '0' })).toEqual([
      { variable: 'PAPER_STOP_OUT_LEVEL', expected: 'a percent of margin level, 0 < x <= 1000' },
    ]);
    const top = loadConfig({ PAPER_STOP_OUT_LEVEL: '1000' });
    expect(top.ok && top.config.paper.stopOutLevelPercent).toBe(1000);
    const small = loadConfig({ PAPER_STOP_OUT_LEVEL: '0.5' });
    expect(small.ok && small.config.paper.stopOutLevelPercent).toBe(0.5);
  });

  it('needs DAILY_RESET_TIMEZONE to be a real IANA zone', () => {
    expect(variables({ DAILY_RESET_TIMEZONE: 'Mars/Olympus_Mons' })).toEqual(['DAILY_RESET_TIMEZONE']);
    expect(variables({ DAILY_RESET_TIMEZONE: 'Europe/Praha' })).toEqual(['DAILY_RESET_TIMEZONE']);
    expect(variables({ DAILY_RESET_TIMEZONE: '+01:00' })).toEqual(['DAILY_RESET_TIMEZONE']);
    for (const zone of ['UTC', 'Europe/Prague', 'America/New_York', 'Asia/Kolkata']) {
      const result = loadConfig({ DAILY_RESET_TIMEZONE: zone });
      expect(result.ok && result.config.risk.dailyResetTimezone).toBe(zone);
    }
  });

  it('reports several bad variables at once, one problem each', () => {
    expect(
      variables({
        PORT: 'x',
        LOG_LEVEL: 'loud',
        DRAWDOWN_CAP_PERCENT: '0',
        DAILY_RESET_TIMEZONE: 'Nowhere/City',
        MAX_VOLUME: '-1',
        MT5_GATEWAY: 'fix',
      }),
    ).toEqual([
      'DAILY_RESET_TIMEZONE',
      'DRAWDOWN_CAP_PERCENT',
      'LOG_LEVEL',
      'MAX_VOLUME',
      'MT5_GATEWAY',
      'PORT',
    ]);
  });

  it('never puts a secret value into a problem', () => {
    const secret = 'short7';
    const found = problems({ SIGNALS_HMAC_SECRET: secret, MT5_BRIDGE_SECRET: 'abc', ADMIN_TOKEN: 'tok' });
    expect(found.map((p) => p.variable).sort()).toEqual([
      'ADMIN_TOKEN',
      'MT5_BRIDGE_SECRET',
      'SIGNALS_HMAC_SECRET',
    ]);
    expect(JSON.stringify(found)).not.toContain(secret);
    expect(JSON.stringify(found)).not.toContain('"tok"');
  });

  it('needs HEARTBEAT_STALE_AFTER_MS above HEARTBEAT_INTERVAL_MS', () => {
    expect(variables({ HEARTBEAT_INTERVAL_MS: '10000', HEARTBEAT_STALE_AFTER_MS: '10000' })).toEqual([
      'HEARTBEAT_STALE_AFTER_MS',
    ]);
    expect(variables({ HEARTBEAT_INTERVAL_MS: '10000', HEARTBEAT_STALE_AFTER_MS: '5000' })).toEqual([
      'HEARTBEAT_STALE_AFTER_MS',
    ]);
  });

  it('refuses a heartbeat interval at or above the default stale threshold (liveness would always fail)', () => {
    expect(variables({ HEARTBEAT_INTERVAL_MS: '120000' })).toEqual(['HEARTBEAT_INTERVAL_MS']);
    expect(variables({ HEARTBEAT_INTERVAL_MS: '60000' })).toEqual(['HEARTBEAT_INTERVAL_MS']);
    expect(loadConfig({ HEARTBEAT_INTERVAL_MS: '59999' }).ok).toBe(true);
    expect(loadConfig({ HEARTBEAT_INTERVAL_MS: '120000', HEARTBEAT_STALE_AFTER_MS: '300000' }).ok).toBe(true);
  });

  it('names a bad heartbeat variable once, without a second complaint about the pair', () => {
    expect(variables({ HEARTBEAT_INTERVAL_MS: '70000', HEARTBEAT_STALE_AFTER_MS: 'soon' })).toEqual([
      'HEARTBEAT_STALE_AFTER_MS',
    ]);
    expect(variables({ HEARTBEAT_INTERVAL_MS: '5', HEARTBEAT_STALE_AFTER_MS: '20' })).toEqual([
      'HEARTBEAT_INTERVAL_MS',
    ]);
  });
});
