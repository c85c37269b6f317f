import { PaperAccount, PaperMarket, type Clock, type PaperAccountStore } from '@app/core';
import { PaperBrokerGateway } from './paper-broker-gateway';
import type { PaperFleetOptions } from './paper-fleet';

/** A paper account of the configuration: its id and PAPER_BALANCE (used only when its book is created). */
export interface OwnedPaperAccountSpec {
  accountId: string;
  balance: number;
}

interface Held {
  readonly account: PaperAccount;
  readonly gateway: PaperBrokerGateway;
}

/**
 * The paper accounts of one process with STATE_BACKEND=postgres (docs/scale-out.md): only those
 * it owns are open, each from its book in the database, all on the process's one market. `adopt`
 * opens an account as ownership brings it (before its runtime is built), `release` forgets it as
 * ownership takes it away (after its runtime stopped).
 *
 * An adopted account joins the market at its current prices: the book's walks were its last
 * owner's market, and rewinding this market to them would move the prices of the accounts already
 * trading on it. Its stops are checked from the next step on, at this market's prices.
 */
export class OwnedPaperFleet {
  readonly market: PaperMarket;
  private readonly balances: Map<string, number>;
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly options: PaperFleetOptions,
    specs: readonly OwnedPaperAccountSpec[],
    private readonly storeFor: (accountId: string) => PaperAccountStore,
    private readonly clock: Clock,
    private readonly log: (accountId: string, message: string) => void = () => undefined,
  ) {
    this.market = new PaperMarket({ symbols: options.symbols, seed: options.seed, walk: options.walk });
    const balances = new Map<string, number>();
    for (const { accountId, balance } of specs) {
      if (balances.has(accountId))
        throw new Error(`paper account ${JSON.stringify(accountId)} is listed twice`);
      balances.set(accountId, balance);
    }
    this.balances = balances;
  }

  /**
   * A paper account added at run time (the accounts API), or whose opening balance changed: the
   * balance counts only for a book that does not exist yet.
   */
  define(accountId: string, balance: number): void {
    this.balances.set(accountId, balance);
  }

  /** A paper account of the configuration (open here or not). */
  has(accountId: string): boolean {
    return this.balances.has(accountId);
  }

  /** Open here now. */
  holds(accountId: string): boolean {
    return this.held.has(accountId);
  }

  /**
   * Opens the account's book onto the market; the automatic closes its first steps make are
   * recorded before this resolves. Throws when the book cannot be opened (damaged, the database
   * unreachable, or the lease no longer held): the account is then not open here.
   */
  async adopt(accountId: string): Promise<void> {
    const balance = this.balances.get(accountId);
    if (balance === undefined) throw new Error(`no paper account ${JSON.stringify(accountId)}`);
    if (this.held.has(accountId)) return;
    const store = this.storeFor(accountId);
    const account = await store.open({
      balance,
      symbols: this.options.symbols,
      seed: this.options.seed,
      market: this.market,
      stopOutLevelPercent: this.options.stopOutLevelPercent,
      maxRestoreCatchUpSteps: this.options.maxRestoreCatchUpSteps,
    });
    // Before it joins the market: a gateway counts the changes made before it as durable (`open` saved them).
    const gateway = new PaperBrokerGateway(account, this.clock, store);
    const before = account.lastChange;
    // The book's walks were not restored (see the class): this only joins the market as it stands.
    PaperAccount.resumeMarket([account], this.clock.now());
    this.held.set(accountId, { account, gateway });
    const closes = account.lastChange - before;
    if (closes > 0)
      this.log(accountId, `${closes} position close(s) from stops crossed at the market's prices`);
    await gateway.flush();
  }

  /**
   * Forgets the account: it leaves the market (no further step closes anything in it), and its
   * records in flight finish. Nothing else is written: the book in the database is its new owner's.
   */
  async release(accountId: string): Promise<void> {
    const held = this.held.get(accountId);
    if (held === undefined) return;
    this.held.delete(accountId);
    held.account.leaveMarket();
    await held.gateway.close();
  }

  /** The gateway of an account open here; throws otherwise (its runtime is built only after `adopt`). */
  gateway(accountId: string): PaperBrokerGateway {
    const held = this.held.get(accountId);
    if (held === undefined) throw new Error(`paper account ${JSON.stringify(accountId)} is not open here`);
    return held.gateway;
  }

  /** On shutdown: every account still open is released. Throws naming the accounts that failed. */
  async close(): Promise<void> {
    const ids = [...this.held.keys()];
    const outcomes = await Promise.allSettled(ids.map((id) => this.release(id)));
    const failures = outcomes.flatMap((o, i) =>
      o.status === 'rejected' ? [`${ids[i]}: ${messageOf(o.reason)}`] : [],
    );
    if (failures.length > 0) throw new Error(`paper accounts could not be closed: ${failures.join('; ')}`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
