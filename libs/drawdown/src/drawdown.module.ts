import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { DRAWDOWN_SETTINGS, drawdownSettingsFor } from './drawdown-settings';

/**
 * The drawdown guard's part of the wiring: each account's guard settings from the configuration.
 * The guard itself (DrawdownGuard, DrawdownPolicy, HaltSequence, the halt latch) is plain
 * TypeScript in libs/core, built per account by createAccountRuntime.
 */
@Module({
  providers: [
    {
      provide: DRAWDOWN_SETTINGS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new Map(config.accounts.map((account) => [account.id, drawdownSettingsFor(config, account)])),
    },
  ],
  exports: [DRAWDOWN_SETTINGS],
})
export class DrawdownModule {}
