/**
 * docs/mt5-bridge.md, Fencing: the bridge refuses an order sent by a process that lost the
 * account. Once the lease lapsed locally the account has no epoch here, but its orders must not
 * go out without a token (a bridge takes that as single-process mode): they carry the last epoch
 * held, which a bridge that saw the new owner's higher one refuses. This is the order the fence
 * exists for: one already past the `stopping()` check when the process was paused or cut off.
 */
import {
  InMemoryLeaseStore,
  ManualClock,
  ManualScheduler,
  OwnershipManager,
  silentLogger,
  type OpenOrderRequest,
} from '@app/core';
import { startFakeMt5Bridge, type FakeMt5Bridge } from '../../../../test/fakes/fake-mt5-bridge';
import { HttpBridgeGateway } from './http-bridge-gateway';

const TTL = 10_000;
const RENEW = 3_000;

let bridge: FakeMt5Bridge | undefined;
let gateway: HttpBridgeGateway | undefined;

afterEach(async () => {
  gateway?.close();
  await bridge?.close();
});

function order(id: string): OpenOrderRequest {
  return { request_id: id, symbol: 'EURUSD', type: 'buy', volume: 0.1, magic: 19019, comment: id };
}

describe('an order of a process that lost the account is fenced at the bridge', () => {
  it('is refused (stale_fencing_token), not sent without a token once the lease lapsed locally', async () => {
    const scheduler = new ManualScheduler(Date.UTC(2026, 10, 24, 10, 0, 0));
    const store = new InMemoryLeaseStore(scheduler);
    store.addAccounts(['acc']);
    const ownership = new OwnershipManager(
      { processId: 'A', leaseTtlMs: TTL, leaseRenewMs: RENEW },
      { store, scheduler, clock: scheduler, logger: silentLogger },
      { onGained: () => undefined, onLost: () => undefined },
    );
    await ownership.start();
    expect(ownership.epochOf('acc')).toBe(1);

    bridge = await startFakeMt5Bridge();
    // The wiring of libs/mt5/src/mt5.module.ts (bridgeFor), through PostgresScaleOut.fencingToken.
    gateway = new HttpBridgeGateway(
      {
        baseUrl: bridge.url,
        keyId: bridge.keyId,
        secret: bridge.secret,
        timeoutMs: 500,
        maxRetries: 0,
        retryBaseDelayMs: 5,
        maxRetryDelayMs: 50,
        fencingToken: () => ownership.fencingToken('acc'),
        onFenced: () => undefined,
      },
      new ManualClock(Date.now()),
      { warn: () => undefined },
    );
    const first = await gateway.openPosition(order('sig-1-acc'));
    expect(first.ok).toBe(true);
    expect(bridge.highestFencingToken).toBe(1);

    // Process A is cut off from the database (or paused): its lease lapses, B takes the account
    // at epoch 2 and trades it on the same bridge.
    store.cut('A');
    await scheduler.advanceAsync(TTL + RENEW);
    expect(ownership.mayTrade('acc')).toBe(false);
    bridge.seeFencingToken(2);

    // An order A had already checked (`stopping()` was false) now reaches the gateway.
    const late = await gateway.openPosition(order('sig-2-acc'));
    const sent = bridge.requestsTo('POST', '/v1/orders');
    // What the contract promises: the bridge refuses it, nothing is filled.
    expect({
      tokenSent: sent[sent.length - 1]?.fencingToken,
      accepted: late.ok,
      fills: bridge.fills,
    }).toEqual({ tokenSent: expect.any(String), accepted: false, fills: 1 });
  });
});
