import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { AlertsModule } from '@app/alerts';
import { AnalyticsModule } from '@app/analytics';
import { ADMIN_TOKEN, EventsModule, TimeModule } from '@app/common';
import { APP_CONFIG, type AppConfig, ConfigModule } from '@app/config';
import { STATE_BACKEND } from '@app/core';
import { ControlModule } from '@app/control';
import { Mt5Module } from '@app/mt5';
import { RuntimeLifecycle, RuntimeModule } from '@app/runtime';
import { SIGNALS_HMAC_SECRET, SignalsModule } from '@app/signals';
import { StateModule } from '@app/state';
import { BOOT_SECRETS, resolveBootSecrets, type BootSecrets } from './bootstrap/boot-secrets';
import { loggerOptions } from './bootstrap/logger-options';
import { GracefulShutdown } from './bootstrap/graceful-shutdown';
import { DashboardModule } from './dashboard/dashboard.module';

/**
 * Secrets from the environment, or read from or generated into STATE_DIR: only once this process
 * owns STATE_DIR (STATE_BACKEND exists after the lock), so a second process that is refused
 * never writes a secret the owner would then disagree with.
 */
@Global()
@Module({
  providers: [
    {
      provide: BOOT_SECRETS,
      inject: [APP_CONFIG, STATE_BACKEND],
      useFactory: (config: AppConfig) => resolveBootSecrets(config),
    },
    { provide: ADMIN_TOKEN, inject: [BOOT_SECRETS], useFactory: (s: BootSecrets) => s.adminToken },
    {
      provide: SIGNALS_HMAC_SECRET,
      inject: [BOOT_SECRETS],
      useFactory: (s: BootSecrets) => s.signalsHmacSecret,
    },
  ],
  exports: [BOOT_SECRETS, ADMIN_TOKEN, SIGNALS_HMAC_SECRET],
})
class SecretsModule {}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        SecretsModule,
        LoggerModule.forRootAsync({ useFactory: () => loggerOptions(config) }),
        ScheduleModule.forRoot(),
        TimeModule,
        EventsModule,
        StateModule,
        Mt5Module,
        AlertsModule,
        RuntimeModule,
        SignalsModule,
        ControlModule,
        AnalyticsModule,
        DashboardModule,
      ],
      // The runtime starts from the root module: Nest runs bootstrap hooks deepest module first and
      // this one last, so every event listener is bound before the first equity check publishes.
      providers: [GracefulShutdown, RuntimeLifecycle],
    };
  }
}
