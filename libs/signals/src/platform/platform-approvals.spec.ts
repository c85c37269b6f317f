import { parsePlatformSignal, pendingApprovalsSchema } from './platform-approvals';

const NOW = Date.parse('2026-11-24T10:00:10.000Z');
const valid = {
  id: 'plat-1',
  instrument: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  sl: null,
  tp: 1.2,
  created_at: '2026-11-24T10:00:00.000Z',
  approved_at: '2026-11-24T10:00:04.250Z',
};

describe('parsePlatformSignal', () => {
  it('keeps created_at as the latency start and approved_at as approvedAtMs; source is platform', () => {
    const parsed = parsePlatformSignal(valid, 1, NOW);
    expect(parsed).toEqual({
      ok: true,
      signal: {
        id: 'plat-1',
        instrument: 'EURUSD',
        side: 'buy',
        volume: 0.1,
        tp: 1.2,
        createdAtMs: Date.parse(valid.created_at),
        receivedAtMs: NOW,
        source: 'platform',
        approvedAtMs: Date.parse(valid.approved_at),
      },
    });
  });

  it('ignores fields the platform added, instead of refusing the signal', () => {
    expect(parsePlatformSignal({ ...valid, desk: 'fx', approver: 'bob' }, 1, NOW).ok).toBe(true);
  });

  it('names every bad field, with the inbox rules plus created_at and approved_at required', () => {
    const partial: Record<string, unknown> = { ...valid, volume: 5 };
    delete partial.created_at;
    delete partial.approved_at;
    const parsed = parsePlatformSignal(partial, 1, NOW);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.id).toBe('plat-1');
    expect(parsed.errors.map((e) => e.field).sort()).toEqual(['approved_at', 'created_at', 'volume']);
  });

  it('refuses a non-object and an approved_at without a zone', () => {
    expect(parsePlatformSignal('x', 1, NOW)).toEqual({
      ok: false,
      id: undefined,
      errors: [{ field: 'signal', message: 'must be an object' }],
    });
    const parsed = parsePlatformSignal({ ...valid, approved_at: '2026-11-24T10:00:04' }, 1, NOW);
    expect(parsed.ok).toBe(false);
  });
});

describe('pendingApprovalsSchema', () => {
  it('needs the signals array, but not valid signals in it', () => {
    expect(pendingApprovalsSchema.safeParse({ signals: [1, 'x'] }).success).toBe(true);
    expect(pendingApprovalsSchema.safeParse({ signal: [] }).success).toBe(false);
    expect(pendingApprovalsSchema.safeParse([]).success).toBe(false);
  });
});
