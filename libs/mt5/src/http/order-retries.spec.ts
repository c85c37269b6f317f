import { executeClose, executeOpenOrder, ManualClock, Retcode, type RetryPolicy } from '@app/core';
import {
  startFakeMt5Bridge,
  type BridgeFault,
  type FakeMt5Bridge,
} from '../../../../test/fakes/fake-mt5-bridge';
import { HttpBridgeGateway } from './http-bridge-gateway';

const MAX_RETRIES = 3;

/**
 * One layer owns retries (docs/mt5-bridge.md, Retries): the order executor, around a gateway that
 * sends each order once. Whatever the bridge answers, one order costs at most MT5_MAX_RETRIES + 1
 * POSTs, all with the same request id; before, axios-retry under the executor made it (n+1)^2.
 */
describe('retries of one order over the HTTP bridge', () => {
  let bridge: FakeMt5Bridge;
  let gateway: HttpBridgeGateway;
  const policy: RetryPolicy = {
    maxRetries: MAX_RETRIES,
    baseDelayMs: 1,
    maxDelayMs: 2,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: () => 0.5,
  };

  beforeEach(async () => {
    bridge = await startFakeMt5Bridge();
    gateway = new HttpBridgeGateway(
      {
        baseUrl: bridge.url,
        keyId: bridge.keyId,
        secret: bridge.secret,
        timeoutMs: 100,
        maxRetries: MAX_RETRIES,
        retryBaseDelayMs: 1,
        maxRetryDelayMs: 2,
        // The breaker would fail calls fast after 5 transport failures: not what is counted here.
        circuit: { failureThreshold: 1_000 },
      },
      new ManualClock(Date.now()),
    );
  });
  afterEach(async () => {
    gateway.close();
    await bridge.close();
  });

  const faults: [string, BridgeFault][] = [
    ['503', { kind: 'http', status: 503 }],
    ['429', { kind: 'http', status: 429 }],
    ['a reset before execution', { kind: 'reset' }],
    ['a timeout', { kind: 'hang' }],
    ['REQUOTE', { kind: 'retcode', retcode: Retcode.REQUOTE }],
  ];

  it.each(faults)(
    'an order the bridge answers with %s every time is sent MT5_MAX_RETRIES + 1 times',
    async (_name, fault) => {
      bridge.failNext({ method: 'POST', path: '/v1/orders' }, fault, 100);
      const request = { request_id: 'o-retry-count', symbol: 'EURUSD', type: 'buy' as const, volume: 0.1 };
      const outcome = await executeOpenOrder(gateway, request, policy);
      expect(outcome.kind === 'error' || outcome.kind === 'rejected').toBe(true);
      expect(outcome.attempts).toBe(MAX_RETRIES + 1);
      const posts = bridge.requestsTo('POST', '/v1/orders');
      expect(posts).toHaveLength(MAX_RETRIES + 1);
      expect(new Set(posts.map((p) => p.idempotencyKey))).toEqual(new Set(['o-retry-count']));
    },
  );

  it('a close the bridge answers with 503 every time is sent MT5_MAX_RETRIES + 1 times', async () => {
    const position = bridge.addPosition({ symbol: 'EURUSD', type: 'buy', volume: 0.1 });
    const path = `/v1/positions/${position.ticket}/close`;
    bridge.failNext({ method: 'POST', path }, { kind: 'http', status: 503 }, 100);
    const outcome = await executeClose(
      gateway,
      { request_id: 'c-retry-count', ticket: position.ticket },
      policy,
    );
    expect(outcome).toMatchObject({ kind: 'error', attempts: MAX_RETRIES + 1 });
    expect(bridge.requestsTo('POST', path)).toHaveLength(MAX_RETRIES + 1);
  });

  it('an order refused as fenced (409 stale_fencing_token) is sent once: final, never retried', async () => {
    const unfenced = new HttpBridgeGateway(
      {
        baseUrl: bridge.url,
        keyId: bridge.keyId,
        secret: bridge.secret,
        timeoutMs: 100,
        maxRetries: MAX_RETRIES,
      },
      new ManualClock(Date.now()),
    );
    const stale = new HttpBridgeGateway(
      {
        baseUrl: bridge.url,
        keyId: bridge.keyId,
        secret: bridge.secret,
        timeoutMs: 100,
        maxRetries: MAX_RETRIES,
        fencingToken: () => 1,
      },
      new ManualClock(Date.now()),
    );
    try {
      bridge.seeFencingToken(2);
      const request = { request_id: 'o-fenced', symbol: 'EURUSD', type: 'buy' as const, volume: 0.1 };
      const outcome = await executeOpenOrder(stale, request, policy);
      expect(outcome).toMatchObject({
        kind: 'error',
        attempts: 1,
        error: { kind: 'final', code: 'stale_fencing_token' },
      });
      expect(bridge.requestsTo('POST', '/v1/orders')).toHaveLength(1);
      expect(bridge.fills).toBe(0);
      // A process without the header (single-process mode) is not fenced.
      expect((await executeOpenOrder(unfenced, request, policy)).kind).toBe('filled');
    } finally {
      unfenced.close();
      stale.close();
    }
  });

  it('a read that keeps failing is retried by the gateway alone: MT5_MAX_RETRIES + 1 GETs', async () => {
    bridge.failNext({ method: 'GET', path: '/v1/account' }, { kind: 'http', status: 503 }, 100);
    expect((await gateway.account()).ok).toBe(false);
    expect(bridge.requestsTo('GET', '/v1/account')).toHaveLength(MAX_RETRIES + 1);
  });
});
