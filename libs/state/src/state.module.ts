import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import type { Clock } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { FileStateStore } from './file-state-store';
import { STATE_STORE } from './state.tokens';

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
      provide: STATE_STORE,
      inject: [APP_CONFIG, CLOCK],
      useFactory: async (config: AppConfig, clock: Clock) => {
        const logger = new Logger('StateModule');
        const store = new FileStateStore(config.stateDir, {
          host: hostname(),
          pid: process.pid,
          now: () => clock.now(),
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
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
  ],
  exports: [STATE_STORE],
})
export class StateModule implements OnApplicationShutdown {
  constructor(@Inject(STATE_STORE) private readonly store: FileStateStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
