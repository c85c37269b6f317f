import { EnvReader } from './env-reader';
import { readServiceConfig } from './service-config';

const read = (env: Record<string, string | undefined>) => {
  const reader = new EnvReader(env);
  const config = readServiceConfig(reader);
  return { config, problems: reader.problems };
};

describe('readServiceConfig: the heartbeat pair', () => {
  it('defaults to a 10 s interval and a 60 s stale threshold, without a problem', () => {
    const { config, problems } = read({});
    expect(config).toMatchObject({ heartbeatIntervalMs: 10_000, heartbeatStaleAfterMs: 60_000 });
    expect(problems).toEqual([]);
  });

  it('blames the stale threshold when it is set and not above the interval', () => {
    expect(read({ HEARTBEAT_INTERVAL_MS: '2000', HEARTBEAT_STALE_AFTER_MS: '2000' }).problems).toEqual([
      { variable: 'HEARTBEAT_STALE_AFTER_MS', expected: 'more than HEARTBEAT_INTERVAL_MS (2000)' },
    ]);
  });

  it('blames the interval when the stale threshold is left at its default', () => {
    expect(read({ HEARTBEAT_INTERVAL_MS: '60000' }).problems).toEqual([
      { variable: 'HEARTBEAT_INTERVAL_MS', expected: 'less than HEARTBEAT_STALE_AFTER_MS (60000)' },
    ]);
  });

  it('accepts a long interval with a longer stale threshold', () => {
    const { config, problems } = read({
      HEARTBEAT_INTERVAL_MS: '120000',
      HEARTBEAT_STALE_AFTER_MS: '300000',
    });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({ heartbeatIntervalMs: 120_000, heartbeatStaleAfterMs: 300_000 });
  });

  it('names a bad heartbeat value once, without a second complaint about the pair', () => {
    expect(read({ HEARTBEAT_INTERVAL_MS: '70000', HEARTBEAT_STALE_AFTER_MS: 'soon' }).problems).toEqual([
      { variable: 'HEARTBEAT_STALE_AFTER_MS', expected: 'an integer of milliseconds, 10 to 86400000' },
    ]);
    expect(read({ HEARTBEAT_INTERVAL_MS: '5', HEARTBEAT_STALE_AFTER_MS: '20' }).problems).toEqual([
      { variable: 'HEARTBEAT_INTERVAL_MS', expected: 'an integer of milliseconds, 10 to 3600000' },
    ]);
  });

  it('still checks the pair when a problem was already reported elsewhere', () => {
    const reader = new EnvReader({ HEARTBEAT_INTERVAL_MS: '60000' });
    reader.problems.push({ variable: 'MT5_GATEWAY', expected: '`paper` or `http`' });
    readServiceConfig(reader);
    expect(reader.problems.map((p) => p.variable)).toEqual(['MT5_GATEWAY', 'HEARTBEAT_INTERVAL_MS']);
  });
});
