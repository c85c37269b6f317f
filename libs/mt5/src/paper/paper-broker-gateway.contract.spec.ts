import { ManualClock, PaperAccount } from '@app/core';
import { describeBrokerGatewayContract } from '../testing/broker-gateway-contract';
import { PaperBrokerGateway } from './paper-broker-gateway';

// A manual clock keeps the price walk still, so equity and position profits are read at one price.
describeBrokerGatewayContract('paper', async () => ({
  gateway: new PaperBrokerGateway(
    new PaperAccount({ balance: 10_000, symbols: ['EURUSD', 'GBPUSD'], seed: 42 }),
    new ManualClock(),
  ),
  teardown: async () => undefined,
}));
