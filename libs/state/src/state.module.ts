import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import { SCHEDULER, SIGNAL_LEDGER, STATE_BACKEND, type Clock, type Scheduler } from '@app/core';
import { APP_CONFIG, CLOCK, accountStateDir, type AppConfig } from '@app/config';
import { FileStateStore } from './file-state-store';
import { legacyHaltProblem } from './legacy-halt-check';

/**
 * The STATE_DIR lease (docs/service.md, STATE_DIR ownership): renewed this often, and watched this
 * long before it is taken from a holder on another host (three missed renewals).
 */
const LEASE_RENEW_EVERY_MS = 2_000;
const LEASE_TTL_MS = 6_000;

/** Opens STATE_DIR before anything else starts: nothing trades on state that is not loaded. */
@Global()
@Module({
  providers: [
    {
      provide: FileStateStore,
      inject: [APP_CONFIG, CLOCK, SCHEDULER],
      useFactory: async (config: AppConfig, clock: Clock, scheduler: Scheduler) => {
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
      },
    },
    { provide: STATE_BACKEND, useExisting: FileStateStore },
    { provide: SIGNAL_LEDGER, inject: [FileStateStore], useFactory: (store: FileStateStore) => store.ledger },
  ],
  exports: [STATE_BACKEND, SIGNAL_LEDGER],
})
export class StateModule implements OnApplicationShutdown {
  constructor(@Inject(FileStateStore) private readonly store: FileStateStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
