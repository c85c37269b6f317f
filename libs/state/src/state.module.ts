import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { FileStateStore } from './file-state-store';
import { STATE_STORE } from './state.tokens';

/** Opens STATE_DIR before anything else starts: nothing trades on state that is not loaded. */
@Global()
@Module({
  providers: [
    {
      provide: STATE_STORE,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => {
        const store = new FileStateStore(config.stateDir);
        const ledger = await store.open();
        new Logger('StateModule').log(
          { signal_ids: ledger.known, unfinished: ledger.unfinished.length, compacted: ledger.compacted },
          'signal ledger loaded',
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
