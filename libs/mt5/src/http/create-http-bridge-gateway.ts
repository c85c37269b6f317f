import type { AccountConfig } from '@app/config';
import type { Clock } from '@app/core';
import { HttpBridgeGateway, type BridgeLogger, type HttpBridgeGatewayOptions } from './http-bridge-gateway';

/** What the caller adds to the account's configuration. */
export type HttpBridgeGatewayExtras = Pick<HttpBridgeGatewayOptions, 'fencingToken' | 'onFenced'>;

/**
 * Builds one account's bridge adapter (gateway `http`). Config validation already requires the
 * URL and both credentials of such an account, so a missing one here is a broken invariant.
 * `extras`: the account's ownership epoch under STATE_BACKEND=postgres, and who hears that the
 * bridge refused it (docs/mt5-bridge.md, Fencing).
 */
export function createHttpBridgeGateway(
  account: AccountConfig,
  clock: Clock,
  logger?: BridgeLogger,
  extras: HttpBridgeGatewayExtras = {},
): HttpBridgeGateway {
  const { bridge, mt5 } = account;
  if (bridge === undefined || bridge.url === '' || bridge.keyId === '' || bridge.secret === '')
    throw new Error(`account ${account.id}: gateway http needs a bridge url, key id and secret`);
  return new HttpBridgeGateway(
    {
      baseUrl: bridge.url,
      keyId: bridge.keyId,
      secret: bridge.secret,
      timeoutMs: mt5.timeoutMs,
      maxRetries: mt5.maxRetries,
      ...(extras.fencingToken === undefined ? {} : { fencingToken: extras.fencingToken }),
      ...(extras.onFenced === undefined ? {} : { onFenced: extras.onFenced }),
    },
    clock,
    logger,
  );
}
