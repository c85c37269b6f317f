import { loadConfig, type ConfigProblem } from './load-config';

const PG = {
  STATE_BACKEND: 'postgres',
  DATABASE_URL: 'postgres://trader:s3cret-pw@db:5432/trading',
  ADMIN_TOKEN: 'admin-token-0123456789',
  SIGNALS_HMAC_SECRET: 'inbox-secret-0123456789',
};

const problems = (env: Record<string, string | undefined>): ConfigProblem[] => {
  const result = loadConfig(env);
  return result.ok ? [] : result.problems;
};

describe('loadConfig: the state backend', () => {
  it('defaults to files under STATE_DIR, closing positions on shutdown as before', () => {
    const result = loadConfig({});
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.stateBackend).toEqual({ kind: 'files' });
    expect(result.config.closeOnShutdown).toBe(true);
  });

  it('postgres: the URL and the lease defaults; a stopping process hands over rather than closing', () => {
    const result = loadConfig(PG);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.stateBackend).toEqual({
      kind: 'postgres',
      databaseUrl: PG.DATABASE_URL,
      poolSize: 10,
      leaseTtlMs: 10_000,
      leaseRenewMs: 3_000,
    });
    expect(result.config.closeOnShutdown).toBe(false);
    const closing = loadConfig({ ...PG, CLOSE_ON_SHUTDOWN: 'true' });
    expect(closing.ok && closing.config.closeOnShutdown).toBe(true);
  });

  it('postgres needs DATABASE_URL, and never echoes it', () => {
    expect(problems({ ...PG, DATABASE_URL: undefined })).toEqual([
      { variable: 'DATABASE_URL', expected: 'a postgres:// URL (required with STATE_BACKEND=postgres)' },
    ]);
    const bad = problems({ ...PG, DATABASE_URL: 'mysql://u:hunter2@db/x' });
    expect(bad.map((p) => p.variable)).toEqual(['DATABASE_URL']);
    expect(JSON.stringify(bad)).not.toContain('hunter2');
  });

  it('postgres needs the admin token and the inbox secret from the environment: every process must agree', () => {
    expect(
      problems({ ...PG, ADMIN_TOKEN: undefined, SIGNALS_HMAC_SECRET: undefined })
        .map((p) => p.variable)
        .sort(),
    ).toEqual(['ADMIN_TOKEN', 'SIGNALS_HMAC_SECRET']);
  });

  it('manual approval is refused with postgres, naming the account', () => {
    expect(problems({ ...PG, APPROVAL_MODE: 'manual' })).toEqual([
      {
        variable: 'APPROVAL_MODE',
        expected:
          '`auto` with STATE_BACKEND=postgres (manual approval is not supported across processes yet)',
      },
    ]);
  });

  it.each([
    ['STATE_BACKEND', 'sqlite'],
    ['DATABASE_POOL_SIZE', '0'],
    ['LEASE_TTL_MS', '500'],
    ['LEASE_RENEW_MS', 'soon'],
  ])('refuses %s=%s naming it', (variable, value) => {
    expect(problems({ ...PG, [variable]: value }).map((p) => p.variable)).toEqual([variable]);
  });

  it('a renewal period of a third of the lease or more is refused: one late renewal would lose every account', () => {
    expect(problems({ ...PG, LEASE_TTL_MS: '9000', LEASE_RENEW_MS: '3000' })).toEqual([
      {
        variable: 'LEASE_RENEW_MS',
        expected: 'less than a third of LEASE_TTL_MS (LEASE_TTL_MS 9000, LEASE_RENEW_MS 3000)',
      },
    ]);
    expect(problems({ ...PG, LEASE_TTL_MS: '9000' }).map((p) => p.variable)).toEqual(['LEASE_TTL_MS']);
    expect(problems({ ...PG, LEASE_TTL_MS: '9001' })).toEqual([]);
  });
});
