import { type DynamicModule, Global, Module } from '@nestjs/common';
import { SystemClock } from '@app/core';
import { AccountConfigs } from './account-configs';
import type { AppConfig } from './app-config';
import { APP_CONFIG, CLOCK } from './config.tokens';

/** The validated config and the clock, available everywhere. Validation happens before this (main.ts). */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: CLOCK, useValue: new SystemClock() },
        { provide: AccountConfigs, useValue: new AccountConfigs(config.accounts) },
      ],
      exports: [APP_CONFIG, CLOCK, AccountConfigs],
    };
  }
}
