import { FakeBridgeAccount, type FakeMt5BridgeOptions } from './fake-bridge-account';
import { FakeBridgeHost } from './fake-bridge-host';

export {
  FakeBridgeAccount,
  type AccountsFileBridge,
  type BridgeFault,
  type BridgeRequestRecord,
  type ChaosOptions,
  type FakeMt5BridgeOptions,
  type FaultMatcher,
  type FillRecord,
  type SeedPosition,
} from './fake-bridge-account';
export { FakeBridgeHost, startFakeBridgeHost, type FakeBridgeHostOptions } from './fake-bridge-host';

/**
 * A fake MT5 bridge: a real HTTP server on 127.0.0.1 speaking the bridge protocol
 * (docs/mt5-bridge.openapi.yaml) over an in-memory hedging account, so the real axios,
 * axios-retry and signing code of the gateway runs in tests. Faults are injected per request.
 *
 * It is one `FakeBridgeAccount` (fake-bridge-account.ts: the account, its faults and its log) at
 * the root of a `FakeBridgeHost` of its own (fake-bridge-host.ts: the server), so `url` has no
 * path prefix and `setDown` closes the listener. For many accounts on one server, each under a
 * path prefix: `startFakeBridgeHost()` and `host.addAccount('t2')`. Such an account has the same
 * type, so whatever takes a `FakeMt5Bridge` takes it too.
 *
 * Call `listen()` (or use `startFakeMt5Bridge`) before use.
 */
export class FakeMt5Bridge extends FakeBridgeAccount {
  constructor(options: FakeMt5BridgeOptions = {}) {
    super(options, new FakeBridgeHost(), '');
  }
}

export async function startFakeMt5Bridge(options: FakeMt5BridgeOptions = {}): Promise<FakeMt5Bridge> {
  return new FakeMt5Bridge(options).listen();
}
