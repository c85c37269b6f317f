import { loadConfig } from './load-config';

describe('loadConfig: VIEWER_TOKEN (the dashboard read-only sign-in)', () => {
  it('is unset by default', () => {
    const loaded = loadConfig({});
    expect(loaded.ok && loaded.config.viewerToken).toBeUndefined();
  });

  it('is kept when at least 16 characters', () => {
    const loaded = loadConfig({ VIEWER_TOKEN: 'viewer-token-0123456789' });
    expect(loaded.ok && loaded.config.viewerToken).toBe('viewer-token-0123456789');
  });

  it('is refused when shorter than 16 characters, without echoing it', () => {
    const loaded = loadConfig({ VIEWER_TOKEN: 'short-token' });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.problems).toEqual([{ variable: 'VIEWER_TOKEN', expected: 'at least 16 characters' }]);
    expect(JSON.stringify(loaded.problems)).not.toContain('short-token');
  });

  it('is refused when equal to ADMIN_TOKEN (every viewer would be an admin)', () => {
    const same = 'the-same-token-0123456789';
    const loaded = loadConfig({ ADMIN_TOKEN: same, VIEWER_TOKEN: same });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.problems).toEqual([{ variable: 'VIEWER_TOKEN', expected: 'different from ADMIN_TOKEN' }]);
  });
});
