import type { BrokerGateway } from './broker-gateway.port';

/**
 * The brokers of the process's accounts: one gateway per account (a paper account or a bridge
 * terminal), picked by the adapter module from each account's configuration. Nothing outside that
 * module knows which kind an account has.
 */
export interface BrokerFleet {
  /** The account's gateway; throws for an account the process does not trade (a wiring bug). */
  gateway(accountId: string): BrokerGateway;
  /**
   * STATE_BACKEND=postgres (docs/scale-out.md): this process came to own the account; called
   * before its runtime is built. A paper account's book is loaded from the database onto the
   * process's market. Nothing for a bridge account, nor with files (every account is open from the
   * start). Rejects when the account cannot be opened: its runtime is then not built.
   */
  adopt(accountId: string): Promise<void>;
  /** The process no longer owns the account; called after its runtime stopped. A paper account is forgotten here. */
  release(accountId: string): Promise<void>;
}

export const BROKER_FLEET = Symbol('BROKER_FLEET');
