import { SIGNED_REQUEST_HEADER, signRequest, SystemClock, type BrokerResult } from '@app/core';
import { HttpBridgeGateway, type HttpBridgeGatewayOptions } from '@app/mt5/http/http-bridge-gateway';
import { describeBrokerGatewayContract } from '@app/mt5/testing/broker-gateway-contract';
import { waitUntil } from '../support/wait-until';
import { startFakeBridgeHost, type FakeBridgeHost } from './fake-bridge-host';
import { startFakeMt5Bridge, type FakeBridgeAccount, type FakeMt5Bridge } from './fake-mt5-bridge';

/**
 * The fake bridge host: one server, many bridge accounts each under a path prefix, driven with
 * the service's own HTTP client as a service trading many accounts would drive them.
 */
describe('FakeBridgeHost: many bridge accounts on one server, each under its own path prefix', () => {
  let host: FakeBridgeHost;
  const gateways: HttpBridgeGateway[] = [];

  /** The service's client for `account` (its URL, key and secret unless overridden). */
  const client = (
    account: FakeBridgeAccount,
    overrides: Partial<HttpBridgeGatewayOptions> = {},
  ): HttpBridgeGateway => {
    const gateway = new HttpBridgeGateway(
      {
        baseUrl: account.url,
        keyId: account.keyId,
        secret: account.secret,
        timeoutMs: 5_000,
        maxRetries: 0,
        retryBaseDelayMs: 5,
        ...overrides,
      },
      new SystemClock(),
    );
    gateways.push(gateway);
    return gateway;
  };

  beforeEach(async () => {
    host = await startFakeBridgeHost();
  });

  afterEach(async () => {
    for (const gateway of gateways.splice(0)) gateway.close();
    await host.close();
  });

  it('gives each account its own URL, key, secret and login, as separate terminals', async () => {
    const a = host.addAccount('t1');
    const b = host.addAccount('/t2', { balance: 5_000 });
    // A host account is a FakeMt5Bridge as far as the type system goes: helpers taking one take it.
    const asBridge: FakeMt5Bridge = a;

    expect(asBridge.url).toBe(`${host.url}/t1`);
    expect(b.url).toBe(`${host.url}/t2`);
    expect(host.account('t2')).toBe(b);
    expect(host.account('/t1')).toBe(a);
    expect(host.accounts()).toEqual([a, b]);
    expect([a.keyId, b.keyId]).toEqual(['key-t1', 'key-t2']);
    expect(a.secret).not.toBe(b.secret);
    expect(a.serviceEnv()).toEqual({
      MT5_GATEWAY: 'http',
      MT5_BRIDGE_URL: `${host.url}/t1`,
      MT5_BRIDGE_KEY_ID: 'key-t1',
      MT5_BRIDGE_SECRET: a.secret,
    });
    expect(b.accountsFileBridge()).toEqual({ url: `${host.url}/t2`, key_id: 'key-t2', secret: b.secret });

    const accountA = value(await client(a).account());
    const accountB = value(await client(b).account());
    expect(accountA.login).not.toBe(accountB.login);
    expect([accountA.balance, accountB.balance]).toEqual([10_000, 5_000]);
  });

  it('keeps positions, fills, deals, idempotency store, prices and request logs apart', async () => {
    const a = host.addAccount('t1');
    const b = host.addAccount('t2');
    const c = host.addAccount('t3');
    const [ga, gb, gc] = [client(a), client(b), client(c)];
    const order = { request_id: 'same-id', symbol: 'EURUSD', type: 'buy' as const, comment: 'same-id' };

    // The same request id on two terminals: two stores, two trades.
    const filledA = value(await ga.openPosition({ ...order, volume: 0.1 }));
    const filledB = value(await gb.openPosition({ ...order, volume: 0.2 }));
    expect(filledA.retcode).toBe(10009);
    expect(filledB.retcode).toBe(10009);
    // A repeat on one answers from that account's store alone.
    expect(value(await ga.openPosition({ ...order, volume: 0.1 }))).toEqual(filledA);
    b.addPosition({ symbol: 'GBPUSD', type: 'sell', volume: 0.3 });

    expect(value(await ga.positions()).map((p) => [p.symbol, p.volume])).toEqual([['EURUSD', 0.1]]);
    expect(value(await gb.positions()).map((p) => [p.symbol, p.volume])).toEqual([
      ['EURUSD', 0.2],
      ['GBPUSD', 0.3],
    ]);
    expect(value(await gc.positions())).toEqual([]);
    expect([a.fills, b.fills, c.fills]).toEqual([1, 1, 0]);
    expect(a.fillLog).toEqual([{ request_id: 'same-id', comment: 'same-id', ticket: filledA.position }]);
    expect(b.fillLog).toEqual([{ request_id: 'same-id', comment: 'same-id', ticket: filledB.position }]);
    expect(a.deals().map((d) => d.volume)).toEqual([0.1]);
    expect(b.deals().map((d) => d.volume)).toEqual([0.2]);

    a.setPrice(1.25, 'EURUSD');
    expect(value(await ga.symbol('EURUSD')).bid).toBe(1.25);
    expect(value(await gb.symbol('EURUSD')).bid).toBe(1.1);

    // Each log holds its own calls, by the path below the prefix, so fault matchers read the same.
    expect(a.requestsTo('POST', '/v1/orders')).toHaveLength(2);
    expect(b.requestsTo('POST', '/v1/orders')).toHaveLength(1);
    expect(c.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/positions']);
    expect([...a.requests, ...b.requests, ...c.requests].every((r) => r.signatureOk)).toBe(true);
  });

  it("refuses (401) a call signed with another account's key or secret, or without the prefix", async () => {
    const a = host.addAccount('t1');
    const b = host.addAccount('t2');

    const foreignSecret = await client(b, { secret: a.secret }).account();
    expect(foreignSecret).toMatchObject({ ok: false, error: { kind: 'final', code: 'unauthorized' } });
    const foreignKey = await client(b, { keyId: a.keyId, secret: a.secret }).account();
    expect(foreignKey).toMatchObject({ ok: false, error: { kind: 'final', code: 'unauthorized' } });
    expect(b.requests.map((r) => r.signatureOk)).toEqual([false, false]);
    expect(a.requests).toHaveLength(0);

    // The signature covers the full path: one over `/v1/account` alone does not pass at `/t2/v1/account`.
    expect((await signedGet(b, '/v1/account', '/t2/v1/account')).status).toBe(401);
    expect((await signedGet(b, '/t2/v1/account', '/t2/v1/account')).status).toBe(200);
  });

  it('answers 404 not_found under no account, and under the prefix of an account closed', async () => {
    const a = host.addAccount('t1');
    const b = host.addAccount('t2');

    const unknown = await fetch(`${host.url}/t9/v1/health`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'not_found' });
    expect((await fetch(`${host.url}/v1/health`)).status).toBe(404);
    const nowhere = await client(b, { baseUrl: `${host.url}/t9` }).health();
    expect(nowhere).toMatchObject({ ok: false, error: { kind: 'final', code: 'http_404' } });

    // Closing an account drops its unanswered calls and frees its prefix; the others go on.
    const ga = client(a);
    a.failNext({ method: 'GET', path: '/v1/positions' }, { kind: 'hang' });
    const hung = ga.positions();
    await waitUntil(() => a.requestsTo('GET', '/v1/positions').length === 1, {
      what: 'the hung call to arrive',
    });
    await a.close();
    expect(await hung).toMatchObject({ ok: false, error: { code: 'connection_reset' } });
    expect(await ga.account()).toMatchObject({ ok: false, error: { kind: 'final', code: 'http_404' } });
    expect(value(await client(b).health())).toEqual({ connected: true });
    expect(host.unroutedCalls).toBe(4);
    expect(() => host.account('t1')).toThrow(/no account/);
  });

  it("holds up no other account's calls while one account's call hangs", async () => {
    const a = host.addAccount('t1');
    const b = host.addAccount('t2');
    const ga = client(a, { timeoutMs: 30_000 });
    const gb = client(b);
    a.failNext({ method: 'GET', path: '/v1/positions' }, { kind: 'hang' });

    let hungSettled = false;
    const hung = ga.positions().finally(() => {
      hungSettled = true;
    });
    await waitUntil(() => a.requestsTo('GET', '/v1/positions').length === 1, {
      what: 'the hung call to arrive',
    });

    // The other account answers in full while the hung call is still pending...
    expect(value(await gb.positions())).toEqual([]);
    expect(value(await gb.account()).balance).toBe(10_000);
    expect(value(await gb.health())).toEqual({ connected: true });
    // ...and so does another call to the same account: the fault held one call, not the account.
    expect(value(await ga.account()).balance).toBe(10_000);
    expect(hungSettled).toBe(false);

    // An account down under a prefix resets its calls, the pending one at once; the others go on.
    await a.setDown(true);
    expect(await hung).toMatchObject({ ok: false, error: { kind: 'transient', code: 'connection_reset' } });
    expect(await ga.account()).toMatchObject({ ok: false, error: { code: 'connection_reset' } });
    expect(a.requests).toHaveLength(2); // the call refused while down never reached the account
    expect(value(await gb.health())).toEqual({ connected: true });
    await a.setDown(false);
    expect(value(await ga.account()).balance).toBe(10_000);
  });

  it('takes every account down with the host, and back up on the same port', async () => {
    const [ga, gb] = [client(host.addAccount('t1')), client(host.addAccount('t2'))];
    const url = host.url;
    await host.setDown(true);
    expect(await ga.health()).toMatchObject({ ok: false, error: { code: 'connection_refused' } });
    expect(await gb.health()).toMatchObject({ ok: false, error: { code: 'connection_refused' } });
    await host.setDown(false);
    expect(host.url).toBe(url);
    expect(value(await ga.health())).toEqual({ connected: true });
    expect(value(await gb.health())).toEqual({ connected: true });
  });

  it('serves a hundred accounts at once, each its own', async () => {
    const accounts = Array.from({ length: 100 }, (_, i) =>
      host.addAccount(`acct-${i}`, { balance: 1_000 + i }),
    );
    const answers = await Promise.all(
      accounts.map(async (account) => value(await client(account).account())),
    );
    expect(answers.map((a) => a.balance)).toEqual(accounts.map((_, i) => 1_000 + i));
    expect(new Set(answers.map((a) => a.login)).size).toBe(100);
    expect(accounts.every((account) => account.requests.length === 1)).toBe(true);
  });

  it('fences each account by its own highest token: a lower one is 409 before any fault or replay', async () => {
    const a = host.addAccount('t1');
    const b = host.addAccount('t2');
    let epochA = 5;
    const ga = client(a, { fencingToken: () => epochA });
    const gb = client(b, { fencingToken: () => 1 });
    const order = { request_id: 'o-fence', symbol: 'EURUSD', type: 'buy' as const, volume: 0.1 };

    expect(value(await ga.openPosition(order)).retcode).toBe(10009);
    // Another terminal, another fence: epoch 1 is fine on t2 while t1 has seen 5.
    expect(value(await gb.openPosition(order)).retcode).toBe(10009);
    expect([a.highestFencingToken, b.highestFencingToken]).toEqual([5, 1]);

    // A stale writer on t1: refused before the injected fault (left for the next call) and
    // before the replay of its stored fill.
    epochA = 4;
    a.failNext({ method: 'POST' }, { kind: 'http', status: 503 });
    expect(await ga.openPosition(order)).toMatchObject({
      ok: false,
      error: { kind: 'final', code: 'stale_fencing_token' },
    });
    expect(a.fencedRequests.map((r) => [r.path, r.fencingToken, r.fault])).toEqual([
      ['/v1/orders', '4', undefined],
    ]);
    expect(a.highestFencingToken).toBe(5);
    // Equal is accepted, and meets the fault the refused call did not take.
    epochA = 5;
    expect(await ga.openPosition(order)).toMatchObject({ ok: false, error: { code: 'http_503' } });
    expect(value(await ga.openPosition(order)).retcode).toBe(10009);
    // Without the header (single-process mode) it is accepted and the mark stays.
    expect(value(await client(a).openPosition(order)).retcode).toBe(10009);
    expect([a.fills, b.fills, a.highestFencingToken]).toEqual([1, 1, 5]);
    expect(b.fencedRequests).toEqual([]);
  });

  it('moves the fence only for a signed call, and refuses a token that is not a count', async () => {
    const a = host.addAccount('t1');
    const body = JSON.stringify({ request_id: 'o-raw', symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    const unsigned = await signedPost(a, '/t1/v1/orders', body, { token: '99', secret: 'not-the-secret' });
    expect(unsigned.status).toBe(401);
    expect(a.highestFencingToken).toBeUndefined();
    for (const token of ['-1', '1.5', 'abc', '99999999999999999']) {
      const bad = await signedPost(a, '/t1/v1/orders', body, { token });
      expect([token, bad.status]).toEqual([token, 400]);
    }
    expect(a.fills).toBe(0);
    const accepted = await signedPost(a, '/t1/v1/orders', body, { token: '7' });
    expect(accepted.status).toBe(200);
    expect(a.highestFencingToken).toBe(7);
    const stale = await signedPost(a, '/t1/v1/orders', body, { token: '6' });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ error: 'stale_fencing_token' });
  });

  it('refuses a bad or taken prefix, and a prefix account next to a root one', async () => {
    host.addAccount('t1');
    expect(() => host.addAccount('t1')).toThrow(/already/);
    expect(() => host.addAccount('')).toThrow(/bad account prefix/);
    expect(() => host.addAccount('a/b')).toThrow(/bad account prefix/);
    expect(() => host.addAccount('..')).toThrow(/bad account prefix/);

    // The one-account bridge every other test uses: its account at the root of its own host.
    const solo = await startFakeMt5Bridge();
    try {
      expect(solo.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(solo.prefix).toBe('');
      expect(solo.keyId).toBe('test-key');
      expect(value(await client(solo).account()).login).toBe(123);
    } finally {
      await solo.close();
    }
  });
});

/** The broker port's conformance suite against an account under a prefix, next to a busy neighbour. */
let contractHost: FakeBridgeHost | undefined;
let contractSeq = 0;

describeBrokerGatewayContract('http bridge (fake bridge host, account under a path prefix)', async () => {
  contractHost ??= await startFakeBridgeHost();
  contractSeq += 1;
  const account = contractHost.addAccount(`c${contractSeq}`);
  // Its neighbour holds a position and fails every call: none of that may show through.
  const neighbour = contractHost.addAccount(`n${contractSeq}`);
  neighbour.addPosition({ symbol: 'EURUSD', type: 'buy', volume: 1, magic: 19019 });
  neighbour.setChaos({ rate: 1, faults: [{ kind: 'reset' }] });
  const gateway = new HttpBridgeGateway(
    {
      baseUrl: account.url,
      keyId: account.keyId,
      secret: account.secret,
      timeoutMs: 1_000,
      maxRetries: 2,
      retryBaseDelayMs: 5,
    },
    new SystemClock(),
  );
  return {
    gateway,
    teardown: async () => {
      gateway.close();
      await account.close();
      await neighbour.close();
    },
  };
});

afterAll(async () => {
  await contractHost?.close();
});

function value<T>(result: BrokerResult<T>): T {
  if (!result.ok)
    throw new Error(`expected ok, got ${result.error.kind}/${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** A GET to `sentPath` of the host, signed with the account's key and secret over `signedPath`. */
async function signedGet(
  account: FakeBridgeAccount,
  signedPath: string,
  sentPath: string,
): Promise<Response> {
  const timestamp = String(Date.now());
  const signature = signRequest(account.secret, {
    timestamp,
    method: 'GET',
    pathWithQuery: signedPath,
    body: '',
  });
  return fetch(`${new URL(account.url).origin}${sentPath}`, {
    headers: {
      [SIGNED_REQUEST_HEADER.apiKey]: account.keyId,
      [SIGNED_REQUEST_HEADER.timestamp]: timestamp,
      [SIGNED_REQUEST_HEADER.signature]: signature,
    },
  });
}

/** A POST of `body` to `path` of the account's host, signed with its key (and secret, unless given). */
async function signedPost(
  account: FakeBridgeAccount,
  path: string,
  body: string,
  options: { token?: string; secret?: string } = {},
): Promise<Response> {
  const timestamp = String(Date.now());
  const signature = signRequest(options.secret ?? account.secret, {
    timestamp,
    method: 'POST',
    pathWithQuery: path,
    body,
  });
  const request = JSON.parse(body) as { request_id: string };
  return fetch(`${new URL(account.url).origin}${path}`, {
    method: 'POST',
    body,
    headers: {
      'Content-Type': 'application/json',
      [SIGNED_REQUEST_HEADER.apiKey]: account.keyId,
      [SIGNED_REQUEST_HEADER.timestamp]: timestamp,
      [SIGNED_REQUEST_HEADER.signature]: signature,
      [SIGNED_REQUEST_HEADER.idempotencyKey]: request.request_id,
      ...(options.token === undefined ? {} : { 'X-Fencing-Token': options.token }),
    },
  });
}
