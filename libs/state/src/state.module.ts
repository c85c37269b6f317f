import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
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
        await store.open();
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
