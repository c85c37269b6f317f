import { ManualClock, Retcode, type BrokerResult, type OpenOrderRequest } from '@app/core';
import { startFakeMt5Bridge, type FakeMt5Bridge } from '../../../../test/fakes/fake-mt5-bridge';
import { HttpBridgeGateway, type BridgeLogger, type HttpBridgeGatewayOptions } from './http-bridge-gateway';

const TIMEOUT_MS = 200;
const MAX_RETRIES = 2;

interface Fixture {
  bridge: FakeMt5Bridge;
  gateway: HttpBridgeGateway;
  clock: ManualClock;
  warnings: string[];
}

let fixtures: Fixture[] = [];

async function setup(overrides: Partial<HttpBridgeGatewayOptions> = {}): Promise<Fixture> {
  const bridge = await startFakeMt5Bridge();
  // Manual, but anchored to real time: the fake bridge checks X-Timestamp against its own clock.
  const clock = new ManualClock(Date.now());
  const warnings: string[] = [];
  const logger: BridgeLogger = { warn: (_obj, msg) => warnings.push(msg) };
  const gateway = new HttpBridgeGateway(
    {
      baseUrl: bridge.url,
      keyId: bridge.keyId,
      secret: bridge.secret,
      timeoutMs: TIMEOUT_MS,
      maxRetries: MAX_RETRIES,
      retryBaseDelayMs: 5,
      maxRetryDelayMs: 50,
      ...overrides,
    },
    clock,
    logger,
  );
  const fixture = { bridge, gateway, clock, warnings };
  fixtures.push(fixture);
  return fixture;
}

afterEach(async () => {
  for (const { bridge, gateway } of fixtures) {
    gateway.close();
    await bridge.close();
  }
  fixtures = [];
});

let seq = 0;
function order(overrides: Partial<OpenOrderRequest> = {}): OpenOrderRequest {
  seq += 1;
  return {
    request_id: `o-test-${seq}`,
    symbol: 'EURUSD',
    type: 'buy',
    volume: 0.1,
    magic: 19019,
    ...overrides,
  };
}

function expectOk<T>(result: BrokerResult<T>): T {
  if (!result.ok)
    throw new Error(`expected ok, got ${result.error.kind}/${result.error.code}: ${result.error.message}`);
  return result.value;
}

function expectError<T>(result: BrokerResult<T>) {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.error;
}

describe('HttpBridgeGateway: signing', () => {
  it('signs every call so the bridge accepts it', async () => {
    const { bridge, gateway } = await setup();
    expect(expectOk(await gateway.health())).toEqual({ connected: true });
    expectOk(await gateway.account());
    expectOk(await gateway.positions());
    expectOk(await gateway.openPosition(order()));
    expect(bridge.requests).toHaveLength(4);
    expect(bridge.requests.every((r) => r.signatureOk)).toBe(true);
  });

  it('signs the path as sent on the wire, base URL prefix included', async () => {
    const { bridge } = await setup();
    const prefixed = new HttpBridgeGateway(
      {
        baseUrl: `${bridge.url}/bridge`,
        keyId: bridge.keyId,
        secret: bridge.secret,
        timeoutMs: TIMEOUT_MS,
        maxRetries: 0,
      },
      new ManualClock(Date.now()),
    );
    // The fake serves /v1 only, so 404, but only after it accepted the signature over /bridge/v1/health.
    expect(expectError(await prefixed.health())).toMatchObject({ kind: 'final', code: 'http_404' });
    prefixed.close();
    expect(bridge.requests[0]).toMatchObject({ path: '/bridge/v1/health', signatureOk: true });
  });

  it('gets final/unauthorized with a wrong secret, without retrying', async () => {
    const { bridge } = await setup();
    const wrong = new HttpBridgeGateway(
      {
        baseUrl: bridge.url,
        keyId: bridge.keyId,
        secret: 'not-the-secret',
        timeoutMs: TIMEOUT_MS,
        maxRetries: MAX_RETRIES,
      },
      new ManualClock(Date.now()),
    );
    const error = expectError(await wrong.account());
    wrong.close();
    expect(error).toMatchObject({ kind: 'final', code: 'unauthorized', attempts: 1 });
    expect(error.message).toContain('bad key or signature');
    expect(bridge.requests).toHaveLength(1);
  });

  it('gets final/unauthorized when its clock is more than 30 s off', async () => {
    const { gateway, clock } = await setup();
    clock.advance(60_000);
    expect(expectError(await gateway.health())).toMatchObject({ kind: 'final', code: 'unauthorized' });
  });

  it('re-signs each retry with a fresh timestamp', async () => {
    const { bridge } = await setup();
    // A clock that moves one second per reading: each signature must read it anew.
    let readings = 0;
    const start = Date.now();
    const ticking = { now: () => start + 1_000 * readings++ };
    const gateway = new HttpBridgeGateway(
      {
        baseUrl: bridge.url,
        keyId: bridge.keyId,
        secret: bridge.secret,
        timeoutMs: TIMEOUT_MS,
        maxRetries: MAX_RETRIES,
        retryBaseDelayMs: 5,
      },
      ticking,
    );
    bridge.failNext({ method: 'GET', path: '/v1/account' }, { kind: 'http', status: 503 });
    expectOk(await gateway.account());
    gateway.close();
    const [first, second] = bridge.requestsTo('GET', '/v1/account');
    expect(first?.signatureOk && second?.signatureOk).toBe(true);
    expect(Number(second?.timestamp)).toBeGreaterThan(Number(first?.timestamp));
  });
});

describe('HttpBridgeGateway: orders', () => {
  it('sends Idempotency-Key = request_id and puts the request id in an empty comment, at most 26 characters', async () => {
    const { bridge, gateway } = await setup();
    const long = order({ request_id: 'o-0123456789abcdef0123456789abcdef' });
    const result = expectOk(await gateway.openPosition(long));
    expect(result.request_id).toBe(long.request_id);
    const [request] = bridge.requestsTo('POST', '/v1/orders');
    expect(request?.idempotencyKey).toBe(long.request_id);
    expect(bridge.positions()[0]).toMatchObject({ magic: 19019, comment: long.request_id.slice(0, 26) });
    expectOk(await gateway.openPosition(order({ comment: 'mine' })));
    expect(bridge.positions()[1]?.comment).toBe('mine');
  });

  // Orders and closes are sent once per call: the order executor owns their retries
  // (order-retries.spec.ts counts the POSTs of one order end to end).
  it('sends an order once: a 503 may follow a call to the terminal (unknown outcome), and the same request id sent again fills once', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext({ method: 'POST', path: '/v1/orders' }, { kind: 'http', status: 503 }, MAX_RETRIES + 1);
    const request = order();
    expect(expectError(await gateway.openPosition(request))).toMatchObject({
      kind: 'unknown_outcome',
      code: 'http_503',
      attempts: 1,
    });
    expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(1);
    bridge.clearFaults();
    expect(expectOk(await gateway.openPosition(request)).retcode).toBe(Retcode.DONE);
    const posts = bridge.requestsTo('POST', '/v1/orders');
    expect(posts.map((r) => r.idempotencyKey)).toEqual([request.request_id, request.request_id]);
    expect(bridge.fills).toBe(1);
  });

  it('answers a 429 on an order as transient without retrying it', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext({ method: 'POST' }, { kind: 'http', status: 429, retryAfterSeconds: 1 });
    expect(expectError(await gateway.openPosition(order()))).toMatchObject({
      kind: 'transient',
      code: 'http_429',
      attempts: 1,
    });
    expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(1);
    expect(bridge.fills).toBe(0);
  });

  it('after a lost answer (reset after execute) it is unknown_outcome, and a re-send gets the stored fill: one position', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext({ method: 'POST', path: '/v1/orders' }, { kind: 'reset_after_execute' });
    const request = order();
    expect(expectError(await gateway.openPosition(request))).toMatchObject({
      kind: 'unknown_outcome',
      code: 'connection_reset',
      attempts: 1,
    });
    const result = expectOk(await gateway.openPosition(request));
    expect(result.retcode).toBe(Retcode.DONE);
    expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(2);
    expect(bridge.fills).toBe(1);
    expect(bridge.positions()).toHaveLength(1);
    expect(bridge.positions()[0]?.ticket).toBe(result.position);
  });

  it('a POST that times out is unknown_outcome; a later re-send returns the stored fill', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext({ method: 'POST', path: '/v1/orders' }, { kind: 'delay', ms: TIMEOUT_MS * 2 });
    const request = order();
    const error = expectError(await gateway.openPosition(request));
    expect(error).toMatchObject({ kind: 'unknown_outcome', code: 'timeout', attempts: 1 });
    expect(bridge.fills).toBe(1);
    const again = expectOk(await gateway.openPosition(request));
    expect(again.retcode).toBe(Retcode.DONE);
    expect(again.position).toBe(bridge.positions()[0]?.ticket);
    expect(bridge.positions()).toHaveLength(1);
    expect(bridge.fills).toBe(1);
  });

  it('a POST reset before execution is still unknown_outcome (the client cannot tell)', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext({ method: 'POST' }, { kind: 'reset' });
    expect(expectError(await gateway.openPosition(order()))).toMatchObject({
      kind: 'unknown_outcome',
      code: 'connection_reset',
      attempts: 1,
    });
    expect(bridge.fills).toBe(0);
  });

  it('a POST refused at connect is transient: it never left', async () => {
    const { bridge, gateway } = await setup();
    await bridge.close();
    expect(expectError(await gateway.openPosition(order()))).toMatchObject({
      kind: 'transient',
      code: 'connection_refused',
      attempts: 1,
    });
  });

  it('a 400 is final, not retried, and carries the bridge message', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext({ method: 'POST' }, { kind: 'http', status: 400 });
    const error = expectError(await gateway.openPosition(order()));
    expect(error).toMatchObject({ kind: 'final', code: 'http_400', attempts: 1 });
    expect(error.message).toContain('injected fault');
    expect(bridge.requests).toHaveLength(1);
  });

  it('returns REQUOTE as an ok result with retcode 10004, without retrying it', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext({ method: 'POST' }, { kind: 'retcode', retcode: Retcode.REQUOTE });
    const request = order();
    expect(expectOk(await gateway.openPosition(request)).retcode).toBe(Retcode.REQUOTE);
    expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(1);
    // Transient, so not stored: the executor's retry with the same id trades.
    expect(expectOk(await gateway.openPosition(request)).retcode).toBe(Retcode.DONE);
    expect(bridge.fills).toBe(1);
  });

  it('refuses a garbage trade answer as invalid_response, never a fill', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext({ method: 'POST' }, { kind: 'garbage' });
    const error = expectError(await gateway.openPosition(order()));
    expect(error).toMatchObject({ kind: 'invalid_response', code: 'bad_body', attempts: 1 });
    expect(error.message).toContain('not JSON');
  });

  it('refuses a well-formed trade answer that echoes another request_id', async () => {
    const { bridge, gateway } = await setup();
    const body = JSON.stringify({
      request_id: 'someone-else',
      retcode: 10009,
      order: 1,
      deal: 2,
      position: 1,
      volume: 0.1,
      price: 1.1,
      comment: '',
    });
    bridge.failNext({ method: 'POST' }, { kind: 'garbage', body });
    const error = expectError(await gateway.openPosition(order()));
    expect(error).toMatchObject({ kind: 'invalid_response', code: 'bad_body' });
    expect(error.message).toContain('does not echo');
  });

  it('closes, and answers POSITION_CLOSED for an unknown ticket', async () => {
    const { bridge, gateway } = await setup();
    const seeded = bridge.addPosition({
      symbol: 'GBPUSD',
      type: 'sell',
      volume: 0.3,
      magic: 19019,
      comment: 'seeded',
    });
    const partial = expectOk(
      await gateway.closePosition({ request_id: 'c-1', ticket: seeded.ticket, volume: 0.1 }),
    );
    expect(partial).toMatchObject({ retcode: Retcode.DONE, position: seeded.ticket });
    expect(bridge.positions()[0]?.volume).toBeCloseTo(0.2, 8);
    expect(bridge.requestsTo('POST', `/v1/positions/${seeded.ticket}/close`)[0]?.idempotencyKey).toBe('c-1');
    expect(expectOk(await gateway.closePosition({ request_id: 'c-2', ticket: 424_242 })).retcode).toBe(
      Retcode.POSITION_CLOSED,
    );
  });

  it('refuses a bad ticket or request id before sending anything', async () => {
    const { bridge, gateway } = await setup();
    expect(expectError(await gateway.closePosition({ request_id: 'c-1', ticket: 1.5 }))).toMatchObject({
      kind: 'final',
      code: 'invalid_request',
      attempts: 0,
    });
    expect(expectError(await gateway.openPosition(order({ request_id: '' })))).toMatchObject({
      kind: 'final',
      code: 'invalid_request',
    });
    expect(expectError(await gateway.openPosition(order({ request_id: 'bad\nid' })))).toMatchObject({
      kind: 'final',
      code: 'invalid_request',
    });
    expect(bridge.requests).toHaveLength(0);
  });
});

describe('HttpBridgeGateway: reads', () => {
  it('retries a GET 429, honouring a capped Retry-After', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext(
      { method: 'GET', path: '/v1/account' },
      { kind: 'http', status: 429, retryAfterSeconds: 1 },
    );
    const started = Date.now();
    expectOk(await gateway.account());
    expect(bridge.requestsTo('GET', '/v1/account')).toHaveLength(2);
    // Retry-After says 1 s; the cap (maxRetryDelayMs 50) keeps a read from stalling.
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('lists the deals of a position, and refuses a deal of another position as invalid_response', async () => {
    const { bridge, gateway } = await setup();
    const opened = expectOk(await gateway.openPosition(order()));
    bridge.closeWithoutRequest(opened.position, 'sl', 1.05);
    const deals = expectOk(await gateway.deals(opened.position));
    expect(deals.map((d) => [d.entry, d.reason, d.price])).toEqual([
      ['in', 'expert', 1.1],
      ['out', 'sl', 1.05],
    ]);
    const stranger = JSON.stringify({ deals: [{ ...deals[1], position: opened.position + 1 }] });
    bridge.failNext({ method: 'GET', path: '/v1/deals' }, { kind: 'garbage', body: stranger });
    expect(expectError(await gateway.deals(opened.position))).toMatchObject({ kind: 'invalid_response' });
    expect(expectError(await gateway.deals(0))).toMatchObject({ kind: 'final', code: 'invalid_request' });
  });

  it('retries a GET on 503', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext({ method: 'GET', path: '/v1/positions' }, { kind: 'http', status: 503 }, MAX_RETRIES);
    bridge.addPosition({ symbol: 'EURUSD', type: 'buy', volume: 0.1, magic: 7, comment: 'x' });
    const positions = expectOk(await gateway.positions());
    expect(positions).toHaveLength(1);
    expect(bridge.requestsTo('GET', '/v1/positions')).toHaveLength(MAX_RETRIES + 1);
  });

  it('a GET that keeps failing is transient with the attempts made', async () => {
    const { bridge, gateway } = await setup();
    bridge.failNext({ method: 'GET' }, { kind: 'http', status: 500 }, MAX_RETRIES + 1);
    expect(expectError(await gateway.account())).toMatchObject({
      kind: 'transient',
      code: 'http_500',
      attempts: MAX_RETRIES + 1,
    });
    bridge.failNext({ method: 'GET' }, { kind: 'hang' }, MAX_RETRIES + 1);
    expect(expectError(await gateway.account())).toMatchObject({
      kind: 'transient',
      code: 'timeout',
      attempts: MAX_RETRIES + 1,
    });
  });

  it('refuses a malformed account or positions body as invalid_response', async () => {
    const { bridge, gateway, warnings } = await setup();
    bridge.failNext(
      { path: '/v1/account' },
      { kind: 'garbage', body: '{"login":1,"currency":"USD","balance":"lots"}' },
    );
    const error = expectError(await gateway.account());
    expect(error).toMatchObject({ kind: 'invalid_response', code: 'bad_body' });
    expect(error.message).toContain('balance');
    bridge.failNext({ path: '/v1/positions' }, { kind: 'garbage', body: '{"positions":[{"ticket":1}]}' });
    expect(expectError(await gateway.positions())).toMatchObject({
      kind: 'invalid_response',
      code: 'bad_body',
    });
    bridge.failNext({ path: '/v1/health' }, { kind: 'garbage', body: '[]' });
    expect(expectError(await gateway.health())).toMatchObject({ kind: 'invalid_response', code: 'bad_body' });
    expect(warnings.filter((w) => w.startsWith('MT5 bridge answer refused'))).toHaveLength(3);
  });

  it('reports the account and a terminal that lost its server', async () => {
    const { bridge, gateway } = await setup();
    bridge.setEquity(9_000);
    expect(expectOk(await gateway.account())).toMatchObject({ login: 123, balance: 10_000, equity: 9_000 });
    bridge.setConnected(false);
    expect(expectOk(await gateway.health())).toEqual({ connected: false });
    expect(expectOk(await gateway.openPosition(order())).retcode).toBe(Retcode.CONNECTION);
  });
});

describe('HttpBridgeGateway: circuit breaker', () => {
  it('opens after 5 consecutive transport failures, fails fast, and a health probe closes it', async () => {
    const { bridge, gateway, clock, warnings } = await setup({
      maxRetries: 0,
      circuit: { failureThreshold: 5, coolDownMs: 5_000 },
    });
    await bridge.setDown(true);
    for (let i = 0; i < 5; i++) {
      expect(expectError(await gateway.account())).toMatchObject({
        kind: 'transient',
        code: 'connection_refused',
      });
    }
    expect(gateway.circuitState()).toBe('open');
    expect(expectError(await gateway.openPosition(order()))).toMatchObject({
      kind: 'transient',
      code: 'circuit_open',
      attempts: 0,
    });

    await bridge.setDown(false);
    const before = bridge.requests.length;
    expect(expectError(await gateway.positions())).toMatchObject({ code: 'circuit_open' });
    expect(bridge.requests.length).toBe(before);

    clock.advance(5_000);
    expect(gateway.circuitState()).toBe('half_open');
    // A non-health call in half-open state runs the health probe first, then itself.
    expectOk(await gateway.positions());
    expect(gateway.circuitState()).toBe('closed');
    expect(bridge.requests.slice(before).map((r) => r.path)).toEqual(['/v1/health', '/v1/positions']);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('circuit opened'),
        expect.stringContaining('circuit closed'),
      ]),
    );
  });

  it('a failed probe keeps it open for another cool-down; health itself is the probe', async () => {
    const { bridge, gateway, clock } = await setup({
      maxRetries: 0,
      circuit: { failureThreshold: 2, coolDownMs: 1_000 },
    });
    await bridge.setDown(true);
    await gateway.health();
    await gateway.health();
    expect(gateway.circuitState()).toBe('open');
    clock.advance(1_000);
    expect(expectError(await gateway.health())).toMatchObject({ code: 'connection_refused' });
    expect(gateway.circuitState()).toBe('open');
    expect(expectError(await gateway.health())).toMatchObject({ code: 'circuit_open' });
    await bridge.setDown(false);
    clock.advance(1_000);
    expect(expectOk(await gateway.health())).toEqual({ connected: true });
    expect(gateway.circuitState()).toBe('closed');
  });

  it('does not count answers (4xx, invalid bodies) as transport failures', async () => {
    const { bridge, gateway } = await setup({
      maxRetries: 0,
      circuit: { failureThreshold: 2, coolDownMs: 1_000 },
    });
    bridge.failNext({}, { kind: 'http', status: 404 }, 2);
    bridge.failNext({}, { kind: 'garbage' }, 2);
    for (let i = 0; i < 4; i++) await gateway.account();
    expect(gateway.circuitState()).toBe('closed');
  });
});

describe('HttpBridgeGateway: fencing (docs/mt5-bridge.md, Fencing)', () => {
  it('sends X-Fencing-Token on every POST, orders and closes, and on no GET', async () => {
    let epoch = 4;
    const { bridge, gateway } = await setup({ fencingToken: () => epoch });
    const opened = expectOk(await gateway.openPosition(order()));
    epoch = 5;
    expectOk(await gateway.closePosition({ request_id: 'c-fenced', ticket: opened.position }));
    expectOk(await gateway.positions());
    expectOk(await gateway.health());
    expect(bridge.requests.map((r) => [r.method, r.fencingToken])).toEqual([
      ['POST', '4'],
      ['POST', '5'],
      ['GET', undefined],
      ['GET', undefined],
    ]);
    expect(bridge.highestFencingToken).toBe(5);
  });

  it('sends no header while the source answers undefined (single-process mode)', async () => {
    const { bridge, gateway } = await setup({ fencingToken: () => undefined });
    expectOk(await gateway.openPosition(order()));
    expect(bridge.requests[0]?.fencingToken).toBeUndefined();
    expect(bridge.highestFencingToken).toBeUndefined();
  });

  it('a lower token than the bridge has seen is final stale_fencing_token: not traded, not retried, counted', async () => {
    const told: string[] = [];
    const { bridge, gateway, warnings } = await setup({
      fencingToken: () => 6,
      onFenced: (refusal) => told.push(`${refusal.method} ${refusal.path} ${refusal.requestId ?? ''}`),
    });
    bridge.seeFencingToken(7);
    const error = expectError(await gateway.openPosition(order()));
    expect(error).toMatchObject({ kind: 'final', code: 'stale_fencing_token', attempts: 1 });
    expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(1);
    expect(bridge.fills).toBe(0);
    expect(gateway.fencedWrites).toBe(1);
    expect(warnings).toEqual([expect.stringContaining('stale fencing token')]);
    const seeded = bridge.addPosition({ symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    expect(
      expectError(await gateway.closePosition({ request_id: 'c-stale', ticket: seeded.ticket })),
    ).toMatchObject({ kind: 'final', code: 'stale_fencing_token' });
    expect(bridge.positions()).toHaveLength(1);
    expect(gateway.fencedWrites).toBe(2);
    expect(told).toEqual([
      expect.stringMatching(/^POST \/v1\/orders o-test-\d+$/),
      `POST /v1/positions/${seeded.ticket}/close c-stale`,
    ]);
  });

  it('a process that lost the account gets no replay of its own stored fill', async () => {
    let epoch = 1;
    const { bridge, gateway } = await setup({ fencingToken: () => epoch });
    const request = order();
    expectOk(await gateway.openPosition(request));
    // The new owner writes with epoch 2; the old one, paused meanwhile, re-sends its order.
    bridge.seeFencingToken(2);
    expect(expectError(await gateway.openPosition(request))).toMatchObject({ code: 'stale_fencing_token' });
    // Once it holds the account again with the new epoch, the stored fill repeats: still one position.
    epoch = 2;
    expect(expectOk(await gateway.openPosition(request)).retcode).toBe(Retcode.DONE);
    expect(bridge.fills).toBe(1);
  });

  it('an equal token is accepted', async () => {
    const { bridge, gateway } = await setup({ fencingToken: () => 3 });
    bridge.seeFencingToken(3);
    expectOk(await gateway.openPosition(order()));
    expectOk(await gateway.openPosition(order()));
    expect(bridge.fills).toBe(2);
    expect(gateway.fencedWrites).toBe(0);
  });

  it('refusals are answers, not transport failures: the circuit stays closed', async () => {
    const { bridge, gateway } = await setup({
      fencingToken: () => 1,
      circuit: { failureThreshold: 2, coolDownMs: 1_000 },
    });
    bridge.seeFencingToken(9);
    for (let i = 0; i < 4; i++) await gateway.openPosition(order());
    expect(gateway.circuitState()).toBe('closed');
    expect(gateway.fencedWrites).toBe(4);
  });

  it('any other 409 stays http_409 and is not counted as fenced', async () => {
    const told: unknown[] = [];
    const { bridge, gateway } = await setup({ fencingToken: () => 1, onFenced: (r) => told.push(r) });
    bridge.failNext({ method: 'POST' }, { kind: 'http', status: 409 });
    expect(expectError(await gateway.openPosition(order()))).toMatchObject({
      kind: 'final',
      code: 'http_409',
    });
    expect(gateway.fencedWrites).toBe(0);
    expect(told).toEqual([]);
  });

  it('refuses to send a token that is not a count, rather than send the order unfenced', async () => {
    const { bridge, gateway } = await setup({ fencingToken: () => Number.NaN });
    expect(expectError(await gateway.openPosition(order()))).toMatchObject({
      kind: 'final',
      code: 'invalid_fencing_token',
      attempts: 0,
    });
    expect(bridge.requests).toHaveLength(0);
  });
});
