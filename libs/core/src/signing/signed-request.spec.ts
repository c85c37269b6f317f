import { signRequest, verifyRequestSignature } from './signed-request';

// Vectors computed independently with `printf '...' | openssl dgst -sha256 -hmac s3cret`.
describe('bridge request signature', () => {
  const post = {
    timestamp: '1700000000000',
    method: 'POST',
    pathWithQuery: '/v1/orders?x=1',
    body: '{"request_id":"o-1"}',
  };
  const get = { timestamp: '1700000000000', method: 'get', pathWithQuery: '/v1/health', body: '' };

  it('matches the protocol payload `<ts>\\n<METHOD>\\n<path with query>\\n<body>`', () => {
    expect(signRequest('s3cret', post)).toBe(
      '6ab093e6e5d2986993ce96421bee4cbef4949555a10c7e4596911167cce7a407',
    );
    expect(signRequest('s3cret', get)).toBe(
      '35e1e25aa4be81ee25811a7613d6d8a398566b68128fc4dbcebfbe5d5f1db569',
    );
  });

  it('verifies a good signature and refuses a changed body, a wrong secret or a malformed value', () => {
    const signature = signRequest('s3cret', post);
    expect(verifyRequestSignature('s3cret', post, signature)).toBe(true);
    expect(verifyRequestSignature('s3cret', { ...post, body: `${post.body} ` }, signature)).toBe(false);
    expect(verifyRequestSignature('other', post, signature)).toBe(false);
    expect(verifyRequestSignature('s3cret', post, signature.toUpperCase())).toBe(false);
    expect(verifyRequestSignature('s3cret', post, 'abc')).toBe(false);
    expect(verifyRequestSignature('s3cret', post, undefined)).toBe(false);
  });
});
