import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Pool } from 'pg';
import {
  OwnershipManager,
  withDeadline,
  type AccountCommand,
  type CommandOutcome,
  type OwnershipCounts,
  type PendingCommand,
  type PendingWork,
  type ScaleOut,
  type Clock,
  type CoreLogger,
  type Lease,
  type OwnershipListener,
  type OwnershipLossReason,
  type Scheduler,
} from '@app/core';
import type { AccountConfig, AccountConfigs, ConfigProblem } from '@app/config';
import { migrate } from './migrations';
import { PostgresAccountCommands } from './postgres-account-commands';
import { PostgresAccounts, type AccountRow } from './postgres-accounts';
import { PostgresLeaseStore } from './postgres-lease-store';
import { PostgresStateBackend } from './postgres-state-backend';
import { WorkNotifications } from './work-notifications';

/** Every process reads the accounts' rows this often (and at once when notified). */
const ACCOUNTS_POLL_MS = 2_000;

export interface PostgresScaleOutSettings {
  databaseUrl: string;
  poolSize: number;
  leaseTtlMs: number;
  leaseRenewMs: number;
  /** LOOP_ID: the readable part of this process's id (several replicas may share it). */
  loopId: string;
  /** The entries of this process's ACCOUNTS_FILE (or its one account), upserted as rows at start. */
  accountEntries: readonly AccountRow[];
  /** Turns a row into an account, or says what is wrong with it (secrets resolved here). */
  parseAccount(
    row: AccountRow,
  ): { ok: true; account: AccountConfig } | { ok: false; problems: ConfigProblem[] };
  /** The set every part of the process reads; replaced at each read of the rows. */
  accounts: AccountConfigs;
}

export interface PostgresScaleOutPorts {
  scheduler: Scheduler;
  /** Monotonic: the lease's local validity is measured on it. */
  monotonicClock: Clock;
  logger: CoreLogger;
}

/** Where ownership changes are delivered: set once the accounts runtime exists (before `start`). */
class OwnershipRelay implements OwnershipListener {
  target: OwnershipListener | undefined;
  onGained(lease: Lease): void {
    if (this.target === undefined) throw new Error('ownership gained before the accounts runtime listens');
    this.target.onGained(lease);
  }

  onLost(lease: Lease, why: OwnershipLossReason): void {
    this.target?.onLost(lease, why);
  }
}

/**
 * Everything of STATE_BACKEND=postgres in one place (docs/scale-out.md): the pool, the schema
 * (migrated at start, safely when several processes start at once), the accounts as rows, the
 * state backend fenced by this process's leases, the ownership manager, and the notifications
 * that wake owners when another process accepted work for them.
 */
export class PostgresScaleOut implements ScaleOut {
  readonly processId: string;
  readonly backend: PostgresStateBackend;
  readonly manager: OwnershipManager;
  readonly notifications: WorkNotifications;
  private readonly commands: PostgresAccountCommands;
  private readonly relay = new OwnershipRelay();
  private readonly rows: PostgresAccounts;
  private cancelAccountsPoll: (() => void) | undefined;
  /** Rows refused, by id, with the entry refused: logged once per change, not at every read. */
  private readonly refused = new Map<string, string>();
  private readonly scheduler: Scheduler;
  private fencedAtBridge = 0;

  private readonly settings: PostgresScaleOutSettings;
  private readonly logger: CoreLogger;

  private constructor(
    readonly pool: Pool,
    settings: PostgresScaleOutSettings,
    ports: PostgresScaleOutPorts,
  ) {
    this.scheduler = ports.scheduler;
    this.processId = `${settings.loopId}/${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
    this.manager = new OwnershipManager(
      { processId: this.processId, leaseTtlMs: settings.leaseTtlMs, leaseRenewMs: settings.leaseRenewMs },
      {
        store: new PostgresLeaseStore(pool),
        scheduler: ports.scheduler,
        clock: ports.monotonicClock,
        logger: ports.logger,
      },
      this.relay,
    );
    this.backend = new PostgresStateBackend({
      pool,
      processId: this.processId,
      epochOf: (accountId) => this.manager.epochOf(accountId),
    });
    this.commands = new PostgresAccountCommands(pool, this.backend.fence, ports.scheduler);
    this.rows = new PostgresAccounts(pool, this.backend.fence);
    this.settings = settings;
    this.logger = ports.logger;
    this.notifications = new WorkNotifications(
      // A partition must not hang the reconnect, nor leave a dead connection unnoticed.
      {
        connectionString: settings.databaseUrl,
        connectionTimeoutMillis: settings.leaseTtlMs,
        keepAlive: true,
      },
      ports.scheduler,
      ports.logger,
    );
  }

  static async open(
    settings: PostgresScaleOutSettings,
    ports: PostgresScaleOutPorts,
  ): Promise<PostgresScaleOut> {
    // A query never waits longer than a lease lasts: a hung database must not hold a caller for ever.
    const pool = new Pool({
      connectionString: settings.databaseUrl,
      max: settings.poolSize,
      query_timeout: settings.leaseTtlMs,
      connectionTimeoutMillis: settings.leaseTtlMs,
    });
    // An idle client that loses its server must not take the process down (it is logged; the
    // next query gets a new connection, and readiness follows the database).
    pool.on('error', (error) => ports.logger.warn({ err: error }, 'database connection lost'));
    try {
      const applied = await migrate(pool);
      if (applied.length > 0) ports.logger.info({ versions: applied }, 'database schema migrated');
      const scaleOut = new PostgresScaleOut(pool, settings, ports);
      await scaleOut.rows.upsertAll(settings.accountEntries);
      await scaleOut.readAccounts();
      scaleOut.notifications.onAccountsChanged(() => void scaleOut.readAccounts());
      scaleOut.cancelAccountsPoll = ports.scheduler.every(
        ACCOUNTS_POLL_MS,
        () => void scaleOut.readAccounts(),
      );
      scaleOut.notifications.onLeasesFreed(() => {
        scaleOut.manager
          .roundNow()
          .catch((error: unknown) =>
            ports.logger.warn({ err: error }, 'ownership round after a hand-over failed'),
          );
      });
      await scaleOut.notifications.open();
      return scaleOut;
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /** The accounts runtime: told when this process gains or loses an account. */
  listen(listener: OwnershipListener): void {
    this.relay.target = listener;
  }

  startOwning(): Promise<void> {
    return this.manager.start();
  }

  handOver(): Promise<void> {
    return this.manager.handOver();
  }

  onWork(listener: () => void): void {
    this.notifications.onWork(listener);
  }

  requestCommand(accountId: string, command: AccountCommand): Promise<number> {
    return this.commands.request(accountId, command);
  }

  commandOutcome(id: number, waitMs: number): Promise<CommandOutcome | undefined> {
    return this.commands.outcome(id, waitMs);
  }

  pendingCommands(accountIds: readonly string[]): Promise<PendingCommand[]> {
    return this.commands.pending(accountIds);
  }

  completeCommand(command: PendingCommand, outcome: CommandOutcome): Promise<void> {
    return this.commands.complete(command, outcome);
  }

  onCommand(listener: () => void): void {
    this.notifications.onCommand(listener);
  }

  /** In the leases table under `role:<name>` (no account has that id: ids have no colon). */
  async holdRole(role: string, ttlMs: number): Promise<boolean> {
    const result = await this.pool.query<{ owner: string }>(
      `INSERT INTO leases (account_id, owner, epoch, expires_at)
       VALUES ($1, $2, 1, now() + ($3::bigint * interval '1 millisecond'))
       ON CONFLICT (account_id) DO UPDATE
         SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at,
             epoch = CASE WHEN leases.owner = EXCLUDED.owner THEN leases.epoch ELSE leases.epoch + 1 END
         WHERE leases.owner IS NULL OR leases.owner = EXCLUDED.owner OR leases.expires_at <= now()
       RETURNING owner`,
      [`role:${role}`, this.processId, Math.round(ttlMs)],
    );
    return result.rows[0]?.owner === this.processId;
  }

  async releaseRole(role: string): Promise<void> {
    await this.pool.query(
      `UPDATE leases SET owner = NULL, expires_at = now() WHERE account_id = $1 AND owner = $2`,
      [`role:${role}`, this.processId],
    );
  }

  async haltedAccounts(): Promise<ReadonlySet<string>> {
    const result = await this.pool.query<{ account_id: string }>(
      `SELECT account_id FROM risk_state WHERE jsonb_typeof(state -> 'halt') = 'object'
       UNION SELECT account_id FROM account_commands WHERE done_at IS NULL AND kind = 'halt'`,
    );
    return new Set(result.rows.map((row) => row.account_id));
  }

  async owners(): Promise<{ accountId: string; owner: string | null; epoch: number }[]> {
    const result = await this.pool.query<{ id: string; owner: string | null; epoch: string | null }>(
      `SELECT a.id, CASE WHEN l.expires_at > now() THEN l.owner END AS owner, coalesce(l.epoch, 0) AS epoch
       FROM accounts a LEFT JOIN leases l ON l.account_id = a.id ORDER BY a.id`,
    );
    return result.rows.map((row) => ({ accountId: row.id, owner: row.owner, epoch: Number(row.epoch) }));
  }

  counts(): OwnershipCounts & { fencedWrites: { database: number; bridge: number } } {
    return {
      ...this.manager.counts(),
      fencedWrites: { database: this.backend.fencedWrites, bridge: this.fencedAtBridge },
    };
  }

  mayTrade(accountId: string): boolean {
    return this.manager.mayTrade(accountId);
  }

  epochOf(accountId: string): number | undefined {
    return this.manager.epochOf(accountId);
  }

  fencingToken(accountId: string): number | undefined {
    return this.manager.fencingToken(accountId);
  }

  lostElsewhere(accountId: string, epoch: number, where: 'database' | 'bridge'): void {
    if (where === 'bridge') this.fencedAtBridge++;
    this.manager.lostElsewhere(accountId, epoch);
  }

  pendingWork(accountIds: readonly string[], afterSeq?: number): Promise<PendingWork[]> {
    return this.backend.pendingWork(accountIds, afterSeq);
  }

  /** For readiness: the database answers within `timeoutMs` (an error counts as no answer). */
  async databaseAnswers(timeoutMs: number): Promise<boolean> {
    const answered = this.pool.query('SELECT 1').then(
      () => true,
      () => false,
    );
    return (await withDeadline(this.scheduler, answered, timeoutMs)) === 'done' && (await answered);
  }

  putAccount(accountId: string, entry: Record<string, unknown>): Promise<'created' | 'updated'> {
    return this.rows.put({ id: accountId, entry });
  }

  deleteAccount(accountId: string): Promise<boolean> {
    return this.rows.delete(accountId);
  }

  /**
   * Reads every row into the process's account set. A row this process cannot make an account of
   * (a secret its environment lacks, say) is left out here and logged once: the others may trade it.
   */
  async readAccounts(): Promise<void> {
    let rows: AccountRow[];
    try {
      rows = await this.rows.all();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the accounts; keeping the last ones');
      return;
    }
    const accounts: AccountConfig[] = [];
    for (const row of rows) {
      const parsed = this.settings.parseAccount(row);
      if (parsed.ok) {
        accounts.push(parsed.account);
        this.refused.delete(row.id);
        continue;
      }
      const entry = JSON.stringify(row.entry);
      if (this.refused.get(row.id) !== entry)
        this.logger.error(
          { account_id: row.id, problems: parsed.problems },
          `account ${row.id} of the database cannot be traded by this process`,
        );
      this.refused.set(row.id, entry);
    }
    this.settings.accounts.replace(accounts);
  }

  async close(): Promise<void> {
    this.cancelAccountsPoll?.();
    this.manager.stop();
    await this.notifications.close();
    await this.pool.end();
  }
}
