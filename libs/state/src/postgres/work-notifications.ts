import { Client, type ClientConfig } from 'pg';
import type { CoreLogger, Scheduler } from '@app/core';
import { COMMANDS_CHANNEL } from './postgres-account-commands';
import { ACCOUNTS_CHANNEL } from './postgres-accounts';
import { LEASES_CHANNEL } from './postgres-lease-store';
import { WORK_CHANNEL } from './postgres-signal-ledger';

/** How long a lost LISTEN connection waits before it tries again; polling covers the gap. */
const RECONNECT_AFTER_MS = 1_000;

/**
 * The owners' wake-up calls (docs/scale-out.md): one connection LISTENs on the channel every
 * claim notifies in its transaction, so an owner picks up work another process accepted at once,
 * and on the one a leaving process notifies, so the others take its released accounts at once. Notifications are a hint, never the record: a lost connection only means the owners'
 * polling finds the work a little later, and the connection is made again.
 */
export class WorkNotifications {
  private client: Client | undefined;
  private readonly listeners: (() => void)[] = [];
  private readonly leaseListeners: (() => void)[] = [];
  private readonly commandListeners: (() => void)[] = [];
  private readonly accountListeners: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly connection: ClientConfig,
    private readonly scheduler: Scheduler,
    private readonly logger: CoreLogger,
  ) {}

  onWork(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** An account's row was added, changed or removed (the accounts API, or a start's upsert). */
  onAccountsChanged(listener: () => void): void {
    this.accountListeners.push(listener);
  }

  /** A halt or a resume was asked for some account (its owner carries it out). */
  onCommand(listener: () => void): void {
    this.commandListeners.push(listener);
  }

  /** A process left and released its leases: worth an ownership round now rather than at the next tick. */
  onLeasesFreed(listener: () => void): void {
    this.leaseListeners.push(listener);
  }

  async open(): Promise<void> {
    if (this.closed) return;
    const client = new Client(this.connection);
    client.on('notification', (message) => {
      const listeners =
        message.channel === LEASES_CHANNEL
          ? this.leaseListeners
          : message.channel === COMMANDS_CHANNEL
            ? this.commandListeners
            : message.channel === ACCOUNTS_CHANNEL
              ? this.accountListeners
              : this.listeners;
      for (const listener of listeners) listener();
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'work notifications: connection lost; polling until it is back');
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(
        `LISTEN ${WORK_CHANNEL}; LISTEN ${LEASES_CHANNEL}; LISTEN ${COMMANDS_CHANNEL}; LISTEN ${ACCOUNTS_CHANNEL}`,
      );
      this.client = client;
    } catch (error) {
      this.logger.warn({ err: error }, 'work notifications: could not listen; polling until it can');
      this.reconnect(client);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client
      ?.end()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'work notifications: close failed'));
  }

  private reconnect(client: Client): void {
    if (this.client !== undefined && this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('end');
    void client.end().catch(() => undefined); // already broken: its own error was logged
    if (this.closed) return;
    this.scheduler.after(RECONNECT_AFTER_MS, () => void this.open());
  }
}
