import {
  DEFAULT_SIGNAL_CHANNEL,
  accountStartup,
  type AccountRegistry,
  type AccountRuntime,
  type AccountStartup,
  type AccountState,
  type BrokerFleet,
  type CoreLogger,
  type FanOutAccount,
  type FanOutDirectory,
  type Lease,
  type OwnershipListener,
  type OwnershipLossReason,
  type PendingWork,
  type ScaleOut,
  type Scheduler,
  type StateBackend,
} from '@app/core';
import type { AccountConfig, AccountConfigChange, AccountConfigs } from '@app/config';
import { carryOutCommand } from './account-commands';
import { SharedWorkPickup } from './shared-work-pickup';

/** How old the intake's knowledge of halted accounts may be. */
const HALTED_POLL_MS = 1_000;
/** Reads of an account's pending commands before it trades, and the wait between them. */
const ADOPT_COMMAND_ATTEMPTS = 5;
const ADOPT_COMMAND_RETRY_MS = 200;
/** The wait before an account whose opening failed is taken on again. */
const ADOPT_RETRY_MS = 2_000;
/** The backstop when a command's notification is lost. */
const COMMAND_POLL_MS = 1_000;

export interface SharedAccountsPorts {
  backend: StateBackend;
  /** Builds an account's runtime on its state (TradingAccounts.createRuntime). */
  build(account: AccountConfig, state: AccountState): AccountRuntime;
  /** Opens an account's broker side when owned (a paper account's book), forgets it when not. */
  brokers: Pick<BrokerFleet, 'adopt' | 'release'>;
  scheduler: Scheduler;
  logger: CoreLogger;
}

/**
 * The fan-out's view with shared accounts: every configured account, owned here or not. A claim
 * commits the signal's work for all of them in the database; each owner then takes its part up
 * through the pickup (woken at once when the owner is this process). Which accounts are halted
 * is read from the database every second: a signal for one is recorded as rejected (`halted`)
 * at once; one halted in the last second is rejected by its owner when it takes it up.
 */
class AllAccountsDirectory implements FanOutDirectory {
  /** The accounts halted as of the last read of the database (at most a second old). */
  halted: ReadonlySet<string> = new Set();
  private byId = new Map<string, FanOutAccount>();
  private byChannel = new Map<string, FanOutAccount[]>();

  constructor(
    accounts: readonly AccountConfig[],
    private readonly wake: () => void,
  ) {
    this.reset(accounts);
  }

  /** The accounts changed (the accounts API): the next signal fans out to the new set. */
  reset(accounts: readonly AccountConfig[]): void {
    const wake = this.wake;
    this.byId = new Map();
    this.byChannel = new Map();
    for (const account of accounts) {
      const entry: FanOutAccount = {
        id: account.id,
        isHalted: () => this.halted.has(account.id),
        admit: () => {
          wake();
          return Promise.resolve();
        },
        rejectHalted: () => undefined,
      };
      this.byId.set(account.id, entry);
      for (const channel of account.channels) {
        const list = this.byChannel.get(channel) ?? [];
        list.push(entry);
        this.byChannel.set(channel, list);
      }
    }
  }

  account(id: string): FanOutAccount | undefined {
    return this.byId.get(id);
  }

  subscribers(channel: string = DEFAULT_SIGNAL_CHANNEL): readonly FanOutAccount[] {
    return this.byChannel.get(channel) ?? [];
  }

  ready(): boolean {
    return true;
  }
}

/**
 * With STATE_BACKEND=postgres (docs/scale-out.md), the accounts this process trades are those it
 * owns, and they come and go: an account gained is opened from the database where its last owner
 * left it (latch, baselines, close-all, unfinished signals) and starts trading; an account lost
 * stops at once (no further order: its runtime's `stopping` already says so) and leaves the
 * registry. Changes of one account are applied one after the other, in the order they came.
 */
export class SharedAccounts implements OwnershipListener {
  readonly directory: AllAccountsDirectory;
  private readonly pickup: SharedWorkPickup;
  private readonly chains = new Map<string, Promise<void>>();
  /** The epoch at which each account was last lost here: an adoption of it still running stops short. */
  private readonly lostEpoch = new Map<string, number>();
  private cancelCommandPoll: (() => void) | undefined;
  private cancelHaltedPoll: (() => void) | undefined;
  private commandsRunning: Promise<void> | undefined;
  private commandsAgain = false;

  constructor(
    private readonly accounts: AccountConfigs,
    private readonly scaleOut: ScaleOut,
    private readonly registry: AccountRegistry,
    private readonly ports: SharedAccountsPorts,
  ) {
    this.pickup = new SharedWorkPickup(
      scaleOut,
      () => this.registry.all().map((runtime) => runtime.id),
      { admit: (work) => this.admit(work) },
      ports.scheduler,
      ports.logger,
    );
    this.directory = new AllAccountsDirectory(accounts.all(), () => this.pickup.wake());
    accounts.onChange((change) => this.accountsChanged(change));
  }

  /**
   * The accounts API changed the set (docs/scale-out.md): the fan-out takes the new set; an owned
   * account that changed starts again on its new settings (stopped, then opened where it stood);
   * one removed stops here at once (its lease is refused at the next renewal).
   */
  private accountsChanged(change: AccountConfigChange): void {
    this.directory.reset(this.accounts.all());
    for (const id of change.changed)
      if (this.registry.account(id) !== undefined)
        this.serially(id, async () => {
          await this.drop(id);
          const epoch = this.scaleOut.epochOf(id);
          if (epoch !== undefined) await this.adopt({ accountId: id, epoch });
        });
    // Held but not built: acquired in the moment between its row's creation and this process's read.
    for (const id of change.added) {
      const epoch = this.scaleOut.epochOf(id);
      if (epoch !== undefined && this.registry.account(id) === undefined)
        this.serially(id, () => this.adopt({ accountId: id, epoch }));
    }
    for (const id of change.removed)
      if (this.registry.account(id) !== undefined) this.serially(id, () => this.drop(id));
    this.ports.logger.info({ ...change }, 'accounts changed');
  }

  /** Listens, starts the pickup and the ownership rounds; resolves once the first round's accounts are started. */
  async start(): Promise<void> {
    await this.readHalted();
    this.cancelHaltedPoll = this.ports.scheduler.every(HALTED_POLL_MS, () => void this.readHalted());
    this.scaleOut.listen(this);
    this.scaleOut.onWork(() => this.pickup.wake());
    this.scaleOut.onCommand(() => this.wakeCommands());
    this.cancelCommandPoll = this.ports.scheduler.every(COMMAND_POLL_MS, () => this.wakeCommands());
    this.pickup.start();
    await this.scaleOut.startOwning();
    await this.settled();
  }

  onGained(lease: Lease): void {
    this.serially(lease.accountId, () => this.adopt(lease));
  }

  onLost(lease: Lease, why: OwnershipLossReason): void {
    this.lostEpoch.set(lease.accountId, lease.epoch);
    this.pickup.dropped(lease.accountId);
    if (why === 'released')
      this.ports.logger.info(
        { type: 'ownership_released', account_id: lease.accountId, epoch: lease.epoch },
        `ownership_released: account ${lease.accountId}, for another process to take`,
      );
    else
      this.ports.logger.warn(
        { type: 'ownership_lost', account_id: lease.accountId, epoch: lease.epoch, why },
        `ownership_lost: account ${lease.accountId} (${why}); no further order is sent for it`,
      );
    this.serially(lease.accountId, () => this.drop(lease.accountId));
  }

  /** SIGTERM: every account stops trading and its lease is released, so the others take it at once. */
  async handOver(): Promise<void> {
    this.pickup.stop();
    this.cancelCommandPoll?.();
    await this.scaleOut.handOver();
    await this.settled();
  }

  stop(): void {
    this.pickup.stop();
    this.cancelCommandPoll?.();
    this.cancelHaltedPoll?.();
  }

  private async adopt(lease: Lease): Promise<void> {
    const id = lease.accountId;
    // Lost before or while it is taken on: its drop is queued after this (onLost), so nothing to
    // do. Not `mayTrade`: a lease whose local validity lapses for a moment while a slow renewal
    // is in flight comes back without any onLost, and an account skipped then would be held and
    // renewed, but traded by nobody.
    const lost = () => this.lostEpoch.get(id) === lease.epoch;
    if (lost() || this.registry.account(id) !== undefined) return;
    let account = this.accounts.get(id);
    if (account === undefined) {
      // Acquired before this process read its row (an account just put): read the rows now (a
      // failed read leaves it unknown here, so it is given up below).
      await this.scaleOut
        .readAccounts()
        .catch((error: unknown) =>
          this.ports.logger.warn({ err: error, account_id: id }, 'could not read the accounts'),
        );
      account = this.accounts.get(id);
    }
    if (account === undefined) {
      // Not one this process can trade (a secret its environment lacks, or a row it has not read
      // yet): let it go, so another process takes it (or this one, once it has read the row).
      this.ports.logger.error(
        { account_id: id },
        `holds the lease of account ${id}, which this process cannot trade: giving it up`,
      );
      this.scaleOut.lostElsewhere(id, lease.epoch, 'database');
      return;
    }
    let state: AccountState;
    let startup: AccountStartup;
    try {
      state = await this.ports.backend.openAccount(id);
      // Its latch and baselines too: read with the other accounts taken on at once, so one
      // failed read fails them all; tried again like the opening, not given up.
      startup = await accountStartup(state);
      if (lost()) return;
      await this.ports.brokers.adopt(id);
    } catch (error) {
      // A database too slow or gone (a query timeout): held but not opened, it would be renewed
      // and traded by nobody. Tried again shortly while the lease holds (giving it up would only
      // move the same load to another process); a database that stays gone ends the lease.
      this.ports.logger.error({ err: error, account_id: id }, 'could not open the account; trying again');
      await this.ports.brokers.release(id);
      this.ports.scheduler.after(ADOPT_RETRY_MS, () => {
        if (!lost()) this.onGained(lease);
      });
      return;
    }
    const runtime = this.ports.build(account, state);
    this.registry.add(runtime);
    this.pickup.adopted(
      id,
      state.loaded.unfinished.map((entry) => entry.signal.id),
    );
    try {
      await runtime.load(startup);
    } catch (error) {
      // Its lease is given up too: held but not traded, nobody would take its work up.
      this.ports.logger.error({ err: error, account_id: id }, 'could not take the account on; giving it up');
      await this.giveUp(runtime, lease);
      return;
    }
    // A halt asked while nobody owned it (or of the last owner, which died first) comes first:
    // no trading before the pending commands were read; if they cannot be, the account goes.
    if (!(await this.commandsCarriedOut(id))) {
      this.ports.logger.error(
        { account_id: id },
        'could not read the halts asked for the account before trading it; giving it up',
      );
      await this.giveUp(runtime, lease);
      return;
    }
    // Lost while it was being taken on (its drop is queued after this): not gained, not begun.
    if (lost()) return;
    this.ports.logger.info(
      {
        type: 'ownership_gained',
        account_id: id,
        epoch: lease.epoch,
        unfinished: state.loaded.unfinished.length,
      },
      `ownership_gained: account ${id} at epoch ${lease.epoch}`,
    );
    runtime.begin().catch((error: unknown) => {
      this.ports.logger.error(
        { err: error, account_id: id },
        'account start failed after its latch was loaded; giving it up',
      );
      // Not begun, it would be held and traded by nobody; unless it was dropped meanwhile.
      this.serially(id, async () => {
        if (this.registry.account(id) === runtime) await this.giveUp(runtime, lease);
      });
    });
  }

  /** An account taken on that cannot trade here: undone, and its lease given up for another process. */
  private async giveUp(runtime: AccountRuntime, lease: Lease): Promise<void> {
    this.registry.remove(lease.accountId);
    this.pickup.dropped(lease.accountId);
    runtime.stop();
    try {
      await this.ports.brokers.release(lease.accountId);
    } finally {
      // Also when the release fails: kept, the lease would be renewed for nobody.
      this.scaleOut.lostElsewhere(lease.accountId, lease.epoch, 'database');
    }
  }

  private async drop(accountId: string): Promise<void> {
    const runtime = this.registry.remove(accountId);
    if (runtime !== undefined) {
      await runtime.stopTrading();
      runtime.stop();
    }
    // Also when no runtime was left (its start failed): a paper book opened by adopt is forgotten.
    await this.ports.brokers.release(accountId);
  }

  /** Which accounts are halted, for the intake; a failed read keeps the last answer (logged). */
  private async readHalted(): Promise<void> {
    try {
      this.directory.halted = await this.scaleOut.haltedAccounts();
    } catch (error) {
      this.ports.logger.warn(
        { err: error },
        'could not read which accounts are halted; keeping the last answer',
      );
    }
  }

  /** Runs the commands now, or right after the run in flight. */
  private wakeCommands(): void {
    if (this.commandsRunning !== undefined) {
      this.commandsAgain = true;
      return;
    }
    const owned = this.registry
      .all()
      .filter((runtime) => runtime.ready)
      .map((runtime) => runtime.id);
    this.commandsRunning = this.runCommands(owned)
      .then(() => undefined)
      .finally(() => {
        this.commandsRunning = undefined;
        if (this.commandsAgain) {
          this.commandsAgain = false;
          this.wakeCommands();
        }
      });
  }

  /** The account's pending commands, carried out before it trades; a few tries (false: they could not be read). */
  private async commandsCarriedOut(accountId: string): Promise<boolean> {
    for (let attempt = 0; attempt < ADOPT_COMMAND_ATTEMPTS; attempt++) {
      if (await this.runCommands([accountId], { allCarriedOut: true })) return true;
      await this.ports.scheduler.sleep(ADOPT_COMMAND_RETRY_MS);
    }
    return false;
  }

  /**
   * Carries out the accounts' pending halts and resumes, oldest first; never rejects (false:
   * failed, logged). A command of an account this process may not trade this instant is left for
   * the next run; with `allCarriedOut` (an account about to trade) that counts as not done.
   */
  private async runCommands(
    accountIds: readonly string[],
    options: { allCarriedOut: boolean } = { allCarriedOut: false },
  ): Promise<boolean> {
    try {
      for (const pending of await this.scaleOut.pendingCommands(accountIds)) {
        const runtime = this.registry.account(pending.accountId);
        if (runtime === undefined || !this.scaleOut.mayTrade(pending.accountId)) {
          if (options.allCarriedOut) return false;
          continue;
        }
        const outcome = await carryOutCommand(runtime, pending.command, this.scaleOut);
        await this.scaleOut.completeCommand(pending, outcome);
      }
    } catch (error) {
      this.ports.logger.warn(
        { err: error },
        'carrying out asked halts and resumes failed; tried again shortly',
      );
      return false;
    }
    return true;
  }

  /** A signal accepted for an account this process owns, taken up from the database. */
  private async admit(work: PendingWork): Promise<boolean> {
    const runtime = this.registry.account(work.accountId);
    if (runtime === undefined || !runtime.ready) return false;
    await runtime.admit(work.signal);
    return true;
  }

  private serially(accountId: string, change: () => Promise<void>): void {
    const previous = this.chains.get(accountId) ?? Promise.resolve();
    const next = previous
      .then(change)
      .catch((error: unknown) =>
        this.ports.logger.error({ err: error, account_id: accountId }, 'ownership change failed'),
      )
      .finally(() => {
        if (this.chains.get(accountId) === next) this.chains.delete(accountId);
      });
    this.chains.set(accountId, next);
  }

  /** Every change so far applied. */
  private async settled(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }
}
