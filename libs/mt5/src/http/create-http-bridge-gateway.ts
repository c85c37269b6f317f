import type { AppConfig } from '@app/config';
import type { Clock } from '@app/core';
import { HttpBridgeGateway, type BridgeLogger } from './http-bridge-gateway';

/**
 * Builds the bridge adapter from AppConfig.mt5 (MT5_GATEWAY=http). Config validation already
 * requires the URL and both credentials in http mode, so a missing one here is a broken invariant.
 */
export function createHttpBridgeGateway(
  config: AppConfig,
  clock: Clock,
  logger?: BridgeLogger,
): HttpBridgeGateway {
  const { bridgeUrl, bridgeKeyId, bridgeSecret, timeoutMs, maxRetries } = config.mt5;
  const missing = [
    ['MT5_BRIDGE_URL', bridgeUrl],
    ['MT5_BRIDGE_KEY_ID', bridgeKeyId],
    ['MT5_BRIDGE_SECRET', bridgeSecret],
  ]
    .filter(([, value]) => value === undefined || value.length === 0)
    .map(([name]) => name);
  if (
    bridgeUrl === undefined ||
    bridgeKeyId === undefined ||
    bridgeSecret === undefined ||
    missing.length > 0
  ) {
    throw new Error(`MT5_GATEWAY=http needs ${missing.join(', ')}`);
  }
  return new HttpBridgeGateway(
    { baseUrl: bridgeUrl, keyId: bridgeKeyId, secret: bridgeSecret, timeoutMs, maxRetries },
    clock,
    logger,
  );
}
