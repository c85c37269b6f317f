import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import {
  ACCOUNT_OWNERSHIP,
  BROKER_FLEET,
  STATE_BACKEND,
  type AccountOwnership,
  type BrokerFleet,
  type BrokerGateway,
  type Clock,
  type StateBackend,
} from '@app/core';
import { PostgresPaperAccountStore, PostgresStateBackend } from '@app/state';
import {
  APP_CONFIG,
  AccountConfigs,
  CLOCK,
  accountStateDir,
  type AccountConfig,
  type AccountConfigChange,
  type AppConfig,
} from '@app/config';
import { openPaperFleet } from './paper/paper-fleet';
import { OwnedPaperFleet } from './paper/owned-paper-fleet';
import { createHttpBridgeGateway } from './http/create-http-bridge-gateway';

/** The gateways the module built, with what must happen to them at shutdown. */
class BrokerAdapters implements BrokerFleet {
  constructor(
    private readonly gateways: Map<string, BrokerGateway>,
    private readonly closers: (() => Promise<void>)[],
    /** With STATE_BACKEND=postgres: the paper accounts, open while this process owns them. */
    private readonly ownedPaper?: OwnedPaperFleet,
    /** With STATE_BACKEND=postgres: a bridge account added (or changed) at run time gets its gateway here. */
    private readonly bridgeFor?: (account: AccountConfig) => BrokerGateway & { close(): void },
  ) {}

  gateway(accountId: string): BrokerGateway {
    const gateway = this.gateways.get(accountId);
    if (gateway !== undefined) return gateway;
    if (this.ownedPaper?.has(accountId) === true) return this.ownedPaper.gateway(accountId);
    throw new Error(`no broker for account ${accountId}`);
  }

  /** The accounts API changed accounts (docs/scale-out.md): new or changed ones get their adapter. */
  accountsChanged(accounts: AccountConfigs, change: AccountConfigChange): void {
    for (const id of [...change.added, ...change.changed]) {
      const account = accounts.get(id);
      if (account === undefined) continue;
      if (account.gateway === 'paper') this.ownedPaper?.define(id, account.paper.balance);
      else if (this.bridgeFor !== undefined) {
        const bridge = this.bridgeFor(account);
        // The old gateway of a changed account may still be in use by its stopping runtime: it
        // is closed with the others at shutdown.
        this.gateways.set(id, bridge);
        this.closers.push(async () => bridge.close());
      }
    }
  }

  adopt(accountId: string): Promise<void> {
    return this.ownedPaper?.has(accountId) === true ? this.ownedPaper.adopt(accountId) : Promise.resolve();
  }

  release(accountId: string): Promise<void> {
    return this.ownedPaper?.has(accountId) === true ? this.ownedPaper.release(accountId) : Promise.resolve();
  }

  /** Every adapter's close runs, even when one fails; the failures are returned. */
  async close(): Promise<Error[]> {
    const results = await Promise.allSettled(this.closers.map((close) => close()));
    return results.flatMap((r) =>
      r.status === 'rejected' ? [r.reason instanceof Error ? r.reason : new Error(String(r.reason))] : [],
    );
  }
}

/**
 * The broker port of every account and the one place that picks each account's adapter (its
 * `gateway`): the embedded paper account or the HTTP bridge to a real terminal. Nothing outside
 * this module knows which.
 */
@Global()
@Module({
  providers: [
    {
      provide: BrokerAdapters,
      // STATE_BACKEND exists once this process owns STATE_DIR: the paper accounts' files are
      // never opened (let alone compacted) by a process that is about to be refused.
      inject: [APP_CONFIG, CLOCK, STATE_BACKEND, ACCOUNT_OWNERSHIP, AccountConfigs],
      useFactory: async (
        config: AppConfig,
        clock: Clock,
        state: StateBackend,
        ownership: AccountOwnership,
        accounts: AccountConfigs,
      ): Promise<BrokerAdapters> => {
        const gateways = new Map<string, BrokerGateway>();
        const closers: (() => Promise<void>)[] = [];
        const paperAccounts = accounts.all().filter((account) => account.gateway === 'paper');
        let ownedPaper: OwnedPaperFleet | undefined;
        if (paperAccounts.length > 0 && state instanceof PostgresStateBackend) {
          // Shared accounts: none is opened now; each is opened from the database when owned.
          const paper = ownedPaperAccounts(config, paperAccounts, clock, state, ownership);
          ownedPaper = paper;
          closers.push(() => paper.close());
        } else if (paperAccounts.length > 0) {
          const paper = await openPaperAccounts(config, paperAccounts, clock);
          for (const account of paperAccounts) gateways.set(account.id, paper.gateway(account.id));
          // Runs after the graceful stop closed positions: each paper account compacts its journal into its snapshot.
          closers.push(() => paper.close());
        }
        // With STATE_BACKEND=postgres every order carries the account's epoch, and a bridge that
        // has seen a higher one refuses it: the account changed owner (docs/mt5-bridge.md, Fencing).
        const bridgeFor = (account: AccountConfig) =>
          createHttpBridgeGateway(account, clock, new Logger('mt5-bridge'), {
            fencingToken: () => ownership.fencingToken(account.id),
            onFenced: () => {
              const epoch = ownership.epochOf(account.id);
              if (epoch !== undefined) ownership.lostElsewhere(account.id, epoch, 'bridge');
            },
          });
        for (const account of accounts.all()) {
          if (account.gateway !== 'http') continue;
          const bridge = bridgeFor(account);
          gateways.set(account.id, bridge);
          closers.push(async () => bridge.close());
        }
        const adapters = new BrokerAdapters(gateways, closers, ownedPaper, bridgeFor);
        accounts.onChange((change) => adapters.accountsChanged(accounts, change));
        return adapters;
      },
    },
    { provide: BROKER_FLEET, useExisting: BrokerAdapters },
  ],
  exports: [BROKER_FLEET],
})
export class Mt5Module implements OnApplicationShutdown {
  private readonly logger = new Logger('mt5');

  constructor(@Inject(BrokerAdapters) private readonly adapters: BrokerAdapters) {}

  async onApplicationShutdown(): Promise<void> {
    // Not rethrown, so the other modules still shut down; a paper journal is intact and replays on the next start.
    for (const error of await this.adapters.close())
      this.logger.error(`could not close a broker adapter on shutdown: ${error.message}`);
  }
}

/**
 * The process's paper accounts on one shared market (docs/accounts.md), each in its account's
 * directory (paper-account.json plus its journal), so each survives restarts, and crashes, like a
 * real demo account.
 */
async function openPaperAccounts(config: AppConfig, accounts: readonly AccountConfig[], clock: Clock) {
  const logger = new Logger('paper-account');
  const fleet = await openPaperFleet(
    {
      symbols: config.paper.symbols,
      seed: config.paper.seed,
      stopOutLevelPercent: config.paper.stopOutLevelPercent,
    },
    accounts.map((account) => ({
      accountId: account.id,
      stateDir: accountStateDir(config.stateDir, account.id),
      balance: account.paper.balance,
    })),
    clock,
    // Only after a crash (a clean stop leaves empty journals): worth a line for the operator.
    (accountId, message) => logger.warn({ account_id: accountId }, message),
  );
  if (fleet.caughtUp.stepped > 0)
    logger.log({ steps: fleet.caughtUp.stepped }, 'paper market walked over the downtime');
  return fleet;
}

/**
 * With STATE_BACKEND=postgres (docs/scale-out.md): the paper accounts on one market of this
 * process, each opened from its book in the database when this process comes to own it. A write
 * of a book refused for the lease means the account changed owner: it stops here at once.
 */
function ownedPaperAccounts(
  config: AppConfig,
  accounts: readonly AccountConfig[],
  clock: Clock,
  state: PostgresStateBackend,
  ownership: AccountOwnership,
): OwnedPaperFleet {
  const logger = new Logger('paper-account');
  return new OwnedPaperFleet(
    {
      symbols: config.paper.symbols,
      seed: config.paper.seed,
      stopOutLevelPercent: config.paper.stopOutLevelPercent,
    },
    accounts.map((account) => ({ accountId: account.id, balance: account.paper.balance })),
    (accountId) =>
      new PostgresPaperAccountStore(state.fence, accountId, {
        onFenced: () => {
          const epoch = ownership.epochOf(accountId);
          if (epoch !== undefined) ownership.lostElsewhere(accountId, epoch, 'database');
        },
        onProblem: (error) =>
          logger.warn(
            { account_id: accountId, err: error.message },
            'paper book snapshot failed; its changes stay in the database and the next snapshot takes them',
          ),
        onOpened: (found) =>
          logger.log(
            { account_id: accountId, ...found },
            found.dropped > 0
              ? `paper book opened; ${found.dropped} change(s) after a missing one not applied (their trades were answered unknown_outcome)`
              : 'paper book opened',
          ),
      }),
    clock,
    (accountId, message) => logger.warn({ account_id: accountId }, message),
  );
}
