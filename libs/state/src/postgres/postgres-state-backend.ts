import type { AccountState, AuditEntry, PendingWork, RiskStateLoad, StateBackend } from '@app/core';
import type { Pool } from 'pg';
import { BatchedAccountReads } from './batched-account-reads';
import { LeaseFence, type LeaseFenceOptions } from './lease-fence';
import { PostgresAuditLog, readAudit } from './postgres-audit-log';
import { PostgresRiskStateStore, loadRiskState } from './postgres-risk-state-store';
import { PostgresSignalLedger } from './postgres-signal-ledger';

export type PostgresStateBackendOptions = LeaseFenceOptions;

/**
 * Durable state in one PostgreSQL shared by several processes (STATE_BACKEND=postgres,
 * docs/scale-out.md): the signal ledger of every account, and per account its risk state and
 * audit log. Every write of an account's state is fenced by the account's lease at the epoch
 * `epochOf` answers; claims are not (any process accepts any signal). The schema must be migrated
 * first (migrations.ts). The pool belongs to the caller, who ends it.
 */
export class PostgresStateBackend implements StateBackend {
  readonly ledger: PostgresSignalLedger;
  /** The lease check every write of an account goes through (also for the account commands). */
  readonly fence: LeaseFence;
  /** What taking an account on reads, batched across the accounts taken on together. */
  private readonly reads: BatchedAccountReads;

  constructor(private readonly options: PostgresStateBackendOptions) {
    this.fence = new LeaseFence(options);
    this.ledger = new PostgresSignalLedger(this.fence);
    this.reads = new BatchedAccountReads(options.pool);
  }

  /** Writes refused because the lease was not held at the epoch written with (trading_fenced_writes_total{where="database"}). */
  get fencedWrites(): number {
    return this.fence.fencedWrites;
  }

  /** Where the state lives, for messages: never the password. */
  get where(): string {
    return describeDatabase(this.options.pool);
  }

  async openAccount(accountId: string): Promise<AccountState> {
    const unfinished = await this.reads.unfinishedOf(accountId);
    return {
      riskState: new PostgresRiskStateStore(this.fence, accountId, () => this.reads.riskStateOf(accountId)),
      audit: new PostgresAuditLog(this.fence, accountId),
      loaded: { problems: [], ledgerTrusted: true, unfinished, where: this.where },
    };
  }

  /** Accepted work of these accounts, whichever process accepted it (an owner woken by WORK_CHANNEL). */
  pendingWork(accountIds: readonly string[], afterSeq?: number): Promise<PendingWork[]> {
    return this.ledger.pendingWork(accountIds, afterSeq);
  }

  /** An account's risk state as last saved, for any process's accounts API (not fenced: a read). */
  riskStateOf(accountId: string): Promise<RiskStateLoad> {
    return loadRiskState(this.options.pool, accountId);
  }

  /** The last `limit` audit entries of an account, oldest first (not fenced: a read). */
  auditOf(accountId: string, limit: number): Promise<AuditEntry[]> {
    return readAudit(this.options.pool, accountId, limit);
  }
}

/** `postgres://host:port/database` of a pool, from its options or its connection string, without credentials. */
function describeDatabase(pool: Pool): string {
  const { host, port, database, connectionString } = pool.options;
  let url: URL | undefined;
  try {
    url = connectionString === undefined ? undefined : new URL(connectionString);
  } catch {
    url = undefined; // not a URL (a key=value string): the options alone then
  }
  const hostName = url?.hostname || host || 'localhost';
  const portNumber = url?.port || port || 5432;
  const databaseName = url?.pathname.replace(/^\//, '') || database || '';
  return `postgres://${hostName}:${portNumber}/${databaseName}`;
}
