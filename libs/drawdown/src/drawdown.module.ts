import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { DRAWDOWN_SETTINGS, drawdownSettingsFromConfig } from './drawdown-settings';

/**
 * The drawdown guard's part of the wiring: its settings from the configuration. The guard itself
 * (DrawdownGuard, DrawdownPolicy, HaltSequence) is plain TypeScript in libs/core, built per
 * account by createAccountRuntime.
 */
@Module({
  providers: [
    {
      provide: DRAWDOWN_SETTINGS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => drawdownSettingsFromConfig(config),
    },
  ],
  exports: [DRAWDOWN_SETTINGS],
})
export class DrawdownModule {}
