import type { AccountConfig } from '@app/config';
import type { Clock } from '@app/core';
import { HttpBridgeGateway, type BridgeLogger } from './http-bridge-gateway';

/**
 * Builds one account's bridge adapter (gateway `http`). Config validation already requires the
 * URL and both credentials of such an account, so a missing one here is a broken invariant.
 */
export function createHttpBridgeGateway(
  account: AccountConfig,
  clock: Clock,
  logger?: BridgeLogger,
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
    },
    clock,
    logger,
  );
}
