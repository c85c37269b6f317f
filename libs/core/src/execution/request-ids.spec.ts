import { haltCloseRequestId, MAX_COMMENT_LENGTH, openRequestId, signalCloseRequestId } from './request-ids';

describe('request ids', () => {
  it('are deterministic: the same order always gets the same id', () => {
    expect(openRequestId('sig-001')).toBe(openRequestId('sig-001'));
    expect(signalCloseRequestId('sig-002', 7)).toBe(signalCloseRequestId('sig-002', 7));
    expect(haltCloseRequestId('halt-1', 7, 2)).toBe(haltCloseRequestId('halt-1', 7, 2));
    expect(haltCloseRequestId('halt-1', 7)).toBe(haltCloseRequestId('halt-1', 7, 0));
  });

  it('are stable across releases (a changed derivation would re-trade after an upgrade)', () => {
    // sha256("open\\0sig-001") truncated to 22 hex characters.
    expect(openRequestId('sig-001')).toBe('o-f7e7005a3dbac548bc6a92');
  });

  it('fit in the 26-character MT5 comment, with a recognisable prefix and hex body', () => {
    const longId = 'x'.repeat(64);
    for (const id of [
      openRequestId(longId),
      signalCloseRequestId(longId, 2_147_483_647),
      haltCloseRequestId(longId, 9_007_199_254_740_991, 99),
    ]) {
      expect(id.length).toBeLessThanOrEqual(MAX_COMMENT_LENGTH);
      expect(id).toMatch(/^[och]-[0-9a-f]{22}$/);
    }
    expect(MAX_COMMENT_LENGTH).toBe(26);
    expect(openRequestId('a')).toMatch(/^o-/);
    expect(signalCloseRequestId('a', 1)).toMatch(/^c-/);
    expect(haltCloseRequestId('a', 1)).toMatch(/^h-/);
  });

  it('differ per signal, per ticket and per round', () => {
    const ids = [
      openRequestId('sig-1'),
      openRequestId('sig-2'),
      openRequestId('SIG-1'),
      signalCloseRequestId('sig-1', 1),
      signalCloseRequestId('sig-1', 2),
      signalCloseRequestId('sig-2', 1),
      haltCloseRequestId('halt-1', 1),
      haltCloseRequestId('halt-1', 2),
      haltCloseRequestId('halt-2', 1),
      haltCloseRequestId('halt-1', 1, 1),
      haltCloseRequestId('halt-1', 1, 2),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('do not collide when parts could be concatenated the same way', () => {
    // "sig-1" + ticket 23 vs "sig-12" + ticket 3: a naive join would give the same text.
    expect(signalCloseRequestId('sig-1', 23)).not.toBe(signalCloseRequestId('sig-12', 3));
    expect(haltCloseRequestId('h', 11, 1)).not.toBe(haltCloseRequestId('h', 1, 11));
  });

  it('differ between a signal close and a halt close of the same ticket and id', () => {
    expect(signalCloseRequestId('x', 7).slice(2)).not.toBe(haltCloseRequestId('x', 7).slice(2));
  });

  it('have no collisions over 20,000 signal ids', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(openRequestId(`sig-${i}`));
    expect(seen.size).toBe(20_000);
  });
});
