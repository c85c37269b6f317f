import type { BrokerGateway } from './broker-gateway.port';

/**
 * The brokers of the process's accounts: one gateway per account (a paper account or a bridge
 * terminal), picked by the adapter module from each account's configuration. Nothing outside that
 * module knows which kind an account has.
 */
export interface BrokerFleet {
  /** The account's gateway; throws for an account the process does not trade (a wiring bug). */
  gateway(accountId: string): BrokerGateway;
}

export const BROKER_FLEET = Symbol('BROKER_FLEET');
