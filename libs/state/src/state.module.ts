import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import {
  AUDIT_LOG,
  RISK_STATE_STORE,
  SCHEDULER,
  SIGNAL_LEDGER,
  STATE_LOAD_REPORT,
  type Clock,
  type Scheduler,
} from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { FileStateStore } from './file-state-store';

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
        const store = new FileStateStore(config.stateDir, {
          host: hostname(),
          pid: process.pid,
          now: () => clock.now(),
          sleep: (ms) => scheduler.sleep(ms),
          every: (ms, run) => scheduler.every(ms, run),
          renewEveryMs: LEASE_RENEW_EVERY_MS,
          leaseTtlMs: LEASE_TTL_MS,
          onProblem: (message) => logger.error(message),
          onLost: (message) => {
            // Another process trades this account now: stop at once, without closing its positions.
            logger.fatal({ type: 'ownership_lost', state_dir: config.stateDir }, message);
            process.exit(1);
          },
        });
        const ledger = await store.open();
        logger.log(
          {
            lock: store.lockTakenBecause,
            signal_ids: ledger.known,
            unfinished: ledger.unfinished.length,
            compacted: ledger.compacted,
          },
          'STATE_DIR locked and signal ledger loaded',
        );
        return store;
      },
    },
    { provide: SIGNAL_LEDGER, inject: [FileStateStore], useFactory: (store: FileStateStore) => store.ledger },
    { provide: AUDIT_LOG, inject: [FileStateStore], useFactory: (store: FileStateStore) => store.audit },
    {
      provide: RISK_STATE_STORE,
      inject: [FileStateStore],
      useFactory: (store: FileStateStore) => store.riskState,
    },
    {
      provide: STATE_LOAD_REPORT,
      inject: [FileStateStore],
      useFactory: (store: FileStateStore) => store.loaded,
    },
  ],
  exports: [SIGNAL_LEDGER, AUDIT_LOG, RISK_STATE_STORE, STATE_LOAD_REPORT],
})
export class StateModule implements OnApplicationShutdown {
  constructor(@Inject(FileStateStore) private readonly store: FileStateStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
