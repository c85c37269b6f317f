import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import {
  ACCOUNT_OWNERSHIP,
  HISTORY_STORE,
  SCALE_OUT,
  SCHEDULER,
  SIGNAL_LEDGER,
  SOLE_OWNERSHIP,
  STATE_BACKEND,
  type AccountOwnership,
  type Clock,
  type HistoryStore,
  type Scheduler,
  type StateBackend,
} from '@app/core';
import { MonotonicClock, coreLoggerFor } from '@app/common';
import {
  APP_CONFIG,
  AccountConfigs,
  CLOCK,
  accountOfRow,
  accountStateDir,
  configuredAccountRows,
  type AppConfig,
} from '@app/config';
import { FileStateStore } from './file-state-store';
import { FileHistoryStore } from './history/file-history-store';
import { legacyHaltProblem } from './legacy-halt-check';
import { PostgresHistoryStore } from './postgres/postgres-history-store';
import { PostgresScaleOut } from './postgres/postgres-scale-out';

/**
 * The STATE_DIR lease (docs/service.md, STATE_DIR ownership): renewed this often, and watched this
 * long before it is taken from a holder on another host (three missed renewals).
 */
const LEASE_RENEW_EVERY_MS = 2_000;
const LEASE_TTL_MS = 6_000;

/**
 * The state this process opened: files under STATE_DIR, or PostgreSQL shared by several processes;
 * and the history of its accounts in the same place (docs/history.md).
 */
class OpenedState {
  constructor(
    readonly backend: StateBackend,
    readonly scaleOut: PostgresScaleOut | null,
    readonly history: HistoryStore,
    readonly close: () => Promise<void>,
  ) {}
}

/**
 * Opens the state before anything else starts: nothing trades on state that is not loaded. With
 * files, STATE_DIR is locked first; with PostgreSQL, the schema is migrated and the accounts are
 * rows (docs/scale-out.md).
 */
@Global()
@Module({
  providers: [
    {
      provide: OpenedState,
      inject: [APP_CONFIG, CLOCK, SCHEDULER, AccountConfigs],
      useFactory: async (
        config: AppConfig,
        clock: Clock,
        scheduler: Scheduler,
        accounts: AccountConfigs,
      ): Promise<OpenedState> => {
        if (config.stateBackend.kind === 'postgres')
          return openPostgres(config, config.stateBackend, scheduler, accounts);
        const store = await openFiles(config, clock, scheduler);
        return new OpenedState(store, null, fileHistory(config), () => store.close());
      },
    },
    { provide: STATE_BACKEND, inject: [OpenedState], useFactory: (state: OpenedState) => state.backend },
    {
      provide: SIGNAL_LEDGER,
      inject: [OpenedState],
      useFactory: (state: OpenedState) => state.backend.ledger,
    },
    { provide: SCALE_OUT, inject: [OpenedState], useFactory: (state: OpenedState) => state.scaleOut },
    { provide: HISTORY_STORE, inject: [OpenedState], useFactory: (state: OpenedState) => state.history },
    {
      provide: ACCOUNT_OWNERSHIP,
      inject: [OpenedState],
      useFactory: (state: OpenedState): AccountOwnership => state.scaleOut ?? SOLE_OWNERSHIP,
    },
  ],
  exports: [STATE_BACKEND, SIGNAL_LEDGER, SCALE_OUT, ACCOUNT_OWNERSHIP, HISTORY_STORE],
})
export class StateModule implements OnApplicationShutdown {
  constructor(@Inject(OpenedState) private readonly state: OpenedState) {}

  async onApplicationShutdown(): Promise<void> {
    await this.state.close();
  }
}

async function openFiles(config: AppConfig, clock: Clock, scheduler: Scheduler): Promise<FileStateStore> {
  const logger = new Logger('StateModule');
  const store = new FileStateStore(config.stateDir, (id) => accountStateDir(config.stateDir, id), {
    host: hostname(),
    pid: process.pid,
    now: () => clock.now(),
    sleep: (ms) => scheduler.sleep(ms),
    every: (ms, run) => scheduler.every(ms, run),
    renewEveryMs: LEASE_RENEW_EVERY_MS,
    leaseTtlMs: LEASE_TTL_MS,
    onProblem: (message) => logger.error(message),
    onLost: (message) => {
      // Another process trades these accounts now: stop at once, without closing their positions.
      logger.fatal({ type: 'ownership_lost', state_dir: config.stateDir }, message);
      process.exit(1);
    },
  });
  const ledger = await store.open();
  // Only once the lock is ours: a refused second process must not even read the old latch.
  const legacy = await legacyHaltProblem(config.stateDir, config.accounts);
  if (legacy !== undefined) {
    await store.close();
    throw new Error(legacy);
  }
  let unfinished = 0;
  for (const list of ledger.unfinished.values()) unfinished += list.length;
  // Work left for an account the configuration no longer has: nobody will finish it; say so.
  const configured = new Set(config.accounts.map((account) => account.id));
  for (const [accountId, list] of ledger.unfinished)
    if (!configured.has(accountId))
      logger.warn(
        {
          account_id: accountId,
          unfinished: list.length,
          signal_ids: list.slice(0, 20).map((u) => u.signal.id),
        },
        `signal ledger holds ${list.length} unfinished signal(s) of account ${accountId}, which is not configured; they stay unfinished until it is`,
      );
  logger.log(
    { lock: store.lockTakenBecause, signal_ids: ledger.known, unfinished, compacted: ledger.compacted },
    'STATE_DIR locked and signal ledger loaded',
  );
  return store;
}

async function openPostgres(
  config: AppConfig,
  settings: Extract<AppConfig['stateBackend'], { kind: 'postgres' }>,
  scheduler: Scheduler,
  accounts: AccountConfigs,
): Promise<OpenedState> {
  const logger = new Logger('StateModule');
  const scaleOut = await PostgresScaleOut.open(
    {
      databaseUrl: settings.databaseUrl,
      poolSize: settings.poolSize,
      leaseTtlMs: settings.leaseTtlMs,
      leaseRenewMs: settings.leaseRenewMs,
      loopId: config.loopId,
      accountEntries: configuredAccountRows(config),
      parseAccount: (row) => accountOfRow(row, config, process.env),
      accounts,
    },
    { scheduler, monotonicClock: new MonotonicClock(), logger: coreLoggerFor(new Logger('ownership')) },
  );
  logger.log(
    { process_id: scaleOut.processId, database: scaleOut.backend.where, accounts: config.accounts.length },
    'state in PostgreSQL; accounts are owned by lease',
  );
  return new OpenedState(scaleOut.backend, scaleOut, new PostgresHistoryStore(scaleOut.pool), () =>
    scaleOut.close(),
  );
}

/** History beside each account's state: `<account dir>/history/<UTC day>.jsonl`. */
function fileHistory(config: AppConfig): FileHistoryStore {
  const logger = new Logger('history');
  return new FileHistoryStore({
    accountDir: (id) => accountStateDir(config.stateDir, id),
    accountIds: config.accounts.map((account) => account.id),
    onProblem: (message) => logger.warn(message),
  });
}
