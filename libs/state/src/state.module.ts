import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import type { Clock } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { FileStateStore } from './file-state-store';
import { processIsAlive } from './state-dir-lock';
import { STATE_STORE } from './state.tokens';

/** The STATE_DIR lease: renewed this often, and taken from a holder on another host after this long. */
const LOCK_RENEW_EVERY_MS = 10_000;
const LOCK_STALE_AFTER_MS = 45_000;

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
          isAlive: processIsAlive,
          renewEveryMs: LOCK_RENEW_EVERY_MS,
          staleAfterMs: LOCK_STALE_AFTER_MS,
          onProblem: (message) => logger.error(message),
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
