import { SystemClock } from '@app/core';
import { startFakeMt5Bridge } from '../../../../test/fakes/fake-mt5-bridge';
import { describeBrokerGatewayContract } from '../testing/broker-gateway-contract';
import { HttpBridgeGateway } from './http-bridge-gateway';

describeBrokerGatewayContract('http bridge (fake bridge)', async () => {
  const bridge = await startFakeMt5Bridge();
  const gateway = new HttpBridgeGateway(
    {
      baseUrl: bridge.url,
      keyId: bridge.keyId,
      secret: bridge.secret,
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
      await bridge.close();
    },
  };
});
