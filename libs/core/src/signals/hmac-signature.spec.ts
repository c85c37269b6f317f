import { createHmac } from 'node:crypto';
import { signInboxRequest, verifyInboxRequest } from './hmac-signature';

const SECRET = 'inbox-secret-0123456789';
const NOW = Date.UTC(2026, 10, 24, 10, 0, 0);
const MAX_AGE = 300_000;
const BODY = Buffer.from('{"id":"sig-001","instrument":"EURUSD","side":"buy","volume":0.1}');

const signedAt = (timestampMs: number, body: Buffer = BODY, secret = SECRET) => {
  const timestamp = String(timestampMs);
  return { timestamp, signature: signInboxRequest(secret, timestamp, body) };
};

describe('inbox HMAC signature', () => {
  it('is lowercase hex HMAC-SHA256 of `<timestamp>.<raw body>`, as docs/service.md specifies', () => {
    const expected = createHmac('sha256', SECRET)
      .update(`${NOW}.${BODY.toString('utf8')}`)
      .digest('hex');
    expect(signInboxRequest(SECRET, String(NOW), BODY)).toBe(expected);
    expect(signInboxRequest(SECRET, String(NOW), BODY.toString('utf8'))).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is known for a fixed input (guards against a change of separator or encoding)', () => {
    // printf '1.{}' | openssl dgst -sha256 -hmac key
    expect(signInboxRequest('key', '1', '{}')).toBe(
      '1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224',
    );
  });

  it('accepts a fresh request signed with the secret', () => {
    const { timestamp, signature } = signedAt(NOW);
    expect(verifyInboxRequest(SECRET, timestamp, signature, BODY, NOW, MAX_AGE)).toEqual({ ok: true });
  });

  it('accepts a timestamp exactly at the edge of the window in both directions, refuses one millisecond beyond', () => {
    for (const offset of [-MAX_AGE, MAX_AGE]) {
      const { timestamp, signature } = signedAt(NOW + offset);
      expect(verifyInboxRequest(SECRET, timestamp, signature, BODY, NOW, MAX_AGE)).toEqual({ ok: true });
    }
    const old = signedAt(NOW - MAX_AGE - 1);
    expect(verifyInboxRequest(SECRET, old.timestamp, old.signature, BODY, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
    const future = signedAt(NOW + MAX_AGE + 1);
    expect(verifyInboxRequest(SECRET, future.timestamp, future.signature, BODY, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
  });

  it('refuses a captured request replayed after the window has passed', () => {
    const { timestamp, signature } = signedAt(NOW);
    expect(verifyInboxRequest(SECRET, timestamp, signature, BODY, NOW + 1000, MAX_AGE).ok).toBe(true);
    expect(verifyInboxRequest(SECRET, timestamp, signature, BODY, NOW + MAX_AGE + 1000, MAX_AGE)).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
  });

  it('refuses a timestamp in seconds instead of milliseconds as stale', () => {
    const { timestamp, signature } = signedAt(Math.floor(NOW / 1000));
    expect(verifyInboxRequest(SECRET, timestamp, signature, BODY, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
  });

  it('refuses a tampered body, a re-signed timestamp or another secret', () => {
    const { timestamp, signature } = signedAt(NOW);
    const tampered = Buffer.from(BODY.toString('utf8').replace('0.1', '10'));
    expect(verifyInboxRequest(SECRET, timestamp, signature, tampered, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    const oneByteMore = Buffer.concat([BODY, Buffer.from(' ')]);
    expect(verifyInboxRequest(SECRET, timestamp, signature, oneByteMore, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyInboxRequest(SECRET, String(NOW + 1), signature, BODY, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    const other = signedAt(NOW, BODY, 'another-secret-0123456');
    expect(verifyInboxRequest(SECRET, other.timestamp, other.signature, BODY, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses missing headers', () => {
    const { timestamp, signature } = signedAt(NOW);
    expect(verifyInboxRequest(SECRET, undefined, signature, BODY, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'missing_headers',
    });
    expect(verifyInboxRequest(SECRET, timestamp, undefined, BODY, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'missing_headers',
    });
  });

  it.each([
    '',
    'abc',
    '-1795514400000',
    '1795514400000.5',
    '1.7955144e12',
    ' 1795514400000',
    '0x1A',
    '12345678901234567',
  ])('refuses the malformed timestamp %j', (timestamp) => {
    const signature = signInboxRequest(SECRET, timestamp, BODY);
    expect(verifyInboxRequest(SECRET, timestamp, signature, BODY, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'bad_timestamp',
    });
  });

  it('refuses malformed signatures: uppercase hex, wrong length, non-hex, empty', () => {
    const { timestamp, signature } = signedAt(NOW);
    for (const bad of [
      signature.toUpperCase(),
      signature.slice(0, 63),
      `${signature}0`,
      `${signature.slice(0, 62)}zz`,
      '',
      `sha256=${signature}`,
    ]) {
      expect(verifyInboxRequest(SECRET, timestamp, bad, BODY, NOW, MAX_AGE)).toEqual({
        ok: false,
        reason: 'bad_signature',
      });
    }
  });

  it('signs and verifies an empty body', () => {
    const empty = Buffer.alloc(0);
    const { timestamp, signature } = signedAt(NOW, empty);
    expect(verifyInboxRequest(SECRET, timestamp, signature, empty, NOW, MAX_AGE)).toEqual({ ok: true });
    expect(verifyInboxRequest(SECRET, timestamp, signature, BODY, NOW, MAX_AGE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });
});
