import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from './app-config';
import { loadConfig } from './load-config';

const load = (env: Record<string, string | undefined>): AppConfig => {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(`expected a valid config, got ${JSON.stringify(result.problems)}`);
  return result.config;
};

describe('loadConfig: defaults of service.md', () => {
  it('gives every default of the configuration table with an empty environment', () => {
    const config = load({});
    const { loopId, ...rest } = config;
    expect(loopId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rest).toEqual({
      port: 3000,
      logLevel: 'info',
      loopTickMs: 250,
      heartbeatIntervalMs: 10_000,
      heartbeatStaleAfterMs: 60_000,
      stateDir: './var',
      stateBackend: { kind: 'files' },
      closeOnShutdown: true,
      adminToken: undefined,
      debugFaults: false,
      risk: {
        equityCheckIntervalMs: 1000,
        drawdownCapPercent: 20,
        baselineMode: 'start',
        dailyLossCapPercent: undefined,
        dailyResetTimezone: 'UTC',
        warnRatio: 0.8,
        confirmReads: 2,
      },
      mt5: {
        gateway: 'paper',
        bridgeUrl: undefined,
        bridgeKeyId: undefined,
        bridgeSecret: undefined,
        timeoutMs: 3000,
        maxRetries: 3,
        magic: 19019,
      },
      paper: {
        balance: 10_000,
        symbols: ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'],
        seed: 42,
        stopOutLevelPercent: 50,
      },
      signals: {
        sources: ['demo', 'inbox'],
        hmacSecret: undefined,
        maxAgeMs: 300_000,
        approvalMode: 'auto',
        maxVolume: 100,
        maxOrdersPerSecond: 50,
        hostMaxOrdersPerSecond: 10_000,
        demoSignalsPerMinute: 6,
      },
      platform: { apiUrl: undefined, apiKeyId: undefined, apiSecret: undefined },
      telegram: {
        botToken: undefined,
        chatId: undefined,
        apiRoot: 'https://api.telegram.org',
        allowedUserIds: [],
      },
      analytics: { webhookUrls: [], historyRetentionDays: 90 },
      accountsFile: undefined,
      // Without ACCOUNTS_FILE: the one account `default`, from the same variables.
      accounts: [
        {
          id: 'default',
          gateway: 'paper',
          paper: { balance: 10_000 },
          bridge: undefined,
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
          channels: ['default'],
          sizing: { mode: 'multiplier', value: 1 },
          telegram: { chatId: undefined, allowedUserIds: [] },
        },
      ],
    });
  });

  it('matches .env.example, whose uncommented values are documented as the defaults', () => {
    const text = readFileSync(join(__dirname, '..', '..', '..', '.env.example'), 'utf8');
    const env = Object.fromEntries(
      text
        .split('\n')
        .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(Object.keys(env).length).toBeGreaterThan(20);
    const withoutLoopId = (config: AppConfig) => ({ ...config, loopId: 'random at each start' });
    expect(withoutLoopId(load(env))).toEqual(withoutLoopId(load({})));
  });

  it('draws a new random LOOP_ID at each start unless one is set', () => {
    expect(load({}).loopId).not.toBe(load({}).loopId);
    expect(load({ LOOP_ID: 'eurusd-main' }).loopId).toBe('eurusd-main');
  });

  it('treats empty and blank strings as unset (compose passes `VAR=`)', () => {
    const config = load({
      PORT: '',
      DRAWDOWN_CAP_PERCENT: '  ',
      MT5_GATEWAY: '',
      SIGNAL_SOURCES: '',
      DAILY_RESET_TIMEZONE: '',
      ADMIN_TOKEN: '',
      DAILY_LOSS_CAP_PERCENT: '',
    });
    expect(config.port).toBe(3000);
    expect(config.risk.drawdownCapPercent).toBe(20);
    expect(config.mt5.gateway).toBe('paper');
    expect(config.signals.sources).toEqual(['demo', 'inbox']);
    expect(config.risk.dailyResetTimezone).toBe('UTC');
    expect(config.adminToken).toBeUndefined();
    expect(config.risk.dailyLossCapPercent).toBeUndefined();
  });

  it('counts an empty required variable as missing', () => {
    const result = loadConfig({
      MT5_GATEWAY: 'http',
      MT5_BRIDGE_URL: '',
      MT5_BRIDGE_KEY_ID: 'k',
      MT5_BRIDGE_SECRET: 'secret-123',
      SIGNALS_HMAC_SECRET: '0123456789abcdef',
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems.map((p) => p.variable)).toEqual(['MT5_BRIDGE_URL']);
  });

  it('reads set values, trimmed, into their typed fields', () => {
    const config = load({
      PORT: ' 8080 ',
      LOG_LEVEL: 'debug',
      LOOP_TICK_MS: '100',
      HEARTBEAT_INTERVAL_MS: '2000',
      HEARTBEAT_STALE_AFTER_MS: '5000',
      EQUITY_CHECK_INTERVAL_MS: '500',
      DRAWDOWN_CAP_PERCENT: '12.5',
      DRAWDOWN_BASELINE: 'peak',
      DAILY_LOSS_CAP_PERCENT: '5',
      DAILY_RESET_TIMEZONE: 'Europe/Prague',
      DRAWDOWN_WARN_RATIO: '0.9',
      DRAWDOWN_CONFIRM_READS: '3',
      CLOSE_ON_SHUTDOWN: 'false',
      STATE_DIR: '/data/state',
      ADMIN_TOKEN: 'admin-token-0123456789',
      MT5_TIMEOUT_MS: '1500',
      MT5_MAX_RETRIES: '0',
      MT5_MAGIC: '7',
      PAPER_BALANCE: '2500.5',
      PAPER_SYMBOLS: 'eurusd, XAUUSD,EURUSD',
      PAPER_SEED: '7',
      PAPER_STOP_OUT_LEVEL: '30.5',
      SIGNAL_SOURCES: 'inbox',
      SIGNAL_MAX_AGE_MS: '60000',
      APPROVAL_MODE: 'manual',
      MAX_VOLUME: '2',
      MAX_ORDERS_PER_SECOND: '5',
      DEMO_SIGNALS_PER_MINUTE: '60',
      TELEGRAM_BOT_TOKEN: '123456:ABC-def',
      TELEGRAM_CHAT_ID: '-1001234',
      TELEGRAM_API_ROOT: 'http://127.0.0.1:9000',
      TELEGRAM_ALLOWED_USER_IDS: '1, 22',
      ANALYTICS_WEBHOOK_URLS: 'http://a.example/h,https://b.example/h',
      HISTORY_RETENTION_DAYS: '30',
      DEBUG_FAULTS: 'true',
    });
    expect(config).toMatchObject({
      port: 8080,
      logLevel: 'debug',
      loopTickMs: 100,
      heartbeatIntervalMs: 2000,
      heartbeatStaleAfterMs: 5000,
      stateDir: '/data/state',
      closeOnShutdown: false,
      adminToken: 'admin-token-0123456789',
      debugFaults: true,
      risk: {
        equityCheckIntervalMs: 500,
        drawdownCapPercent: 12.5,
        baselineMode: 'peak',
        dailyLossCapPercent: 5,
        dailyResetTimezone: 'Europe/Prague',
        warnRatio: 0.9,
        confirmReads: 3,
      },
      mt5: { gateway: 'paper', timeoutMs: 1500, maxRetries: 0, magic: 7 },
      paper: { balance: 2500.5, symbols: ['EURUSD', 'XAUUSD'], seed: 7, stopOutLevelPercent: 30.5 },
      signals: {
        sources: ['inbox'],
        maxAgeMs: 60_000,
        approvalMode: 'manual',
        maxVolume: 2,
        maxOrdersPerSecond: 5,
        demoSignalsPerMinute: 60,
      },
      telegram: {
        botToken: '123456:ABC-def',
        chatId: '-1001234',
        apiRoot: 'http://127.0.0.1:9000',
        allowedUserIds: [1, 22],
      },
      analytics: { webhookUrls: ['http://a.example/h', 'https://b.example/h'], historyRetentionDays: 30 },
    });
  });

  it('defaults SIGNAL_SOURCES by gateway: demo,inbox with paper, inbox with http', () => {
    expect(load({ MT5_GATEWAY: 'paper' }).signals.sources).toEqual(['demo', 'inbox']);
    const http = load({
      MT5_GATEWAY: 'http',
      MT5_BRIDGE_URL: 'http://bridge:8000',
      MT5_BRIDGE_KEY_ID: 'k1',
      MT5_BRIDGE_SECRET: 'bridge-secret',
      SIGNALS_HMAC_SECRET: '0123456789abcdef',
    });
    expect(http.signals.sources).toEqual(['inbox']);
    expect(http.mt5).toMatchObject({
      gateway: 'http',
      bridgeUrl: 'http://bridge:8000',
      bridgeKeyId: 'k1',
      bridgeSecret: 'bridge-secret',
    });
    expect(http.signals.hmacSecret).toBe('0123456789abcdef');
  });

  it('removes duplicate sources and accepts every kind', () => {
    const config = load({
      SIGNAL_SOURCES: 'inbox,demo,inbox,platform',
      PLATFORM_API_URL: 'https://platform.example',
      PLATFORM_API_KEY_ID: 'pk',
      PLATFORM_API_SECRET: 'platform-secret',
    });
    expect(config.signals.sources).toEqual(['inbox', 'demo', 'platform']);
    expect(config.platform).toEqual({
      apiUrl: 'https://platform.example',
      apiKeyId: 'pk',
      apiSecret: 'platform-secret',
    });
  });
});
