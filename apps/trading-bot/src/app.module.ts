import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { AlertsModule } from '@app/alerts';
import { TelegramCommandsModule } from '@app/alerts/telegram/commands/telegram-commands.module';
import { AnalyticsModule } from '@app/analytics';
import { ADMIN_TOKEN, EventsModule } from '@app/common';
import { type AppConfig, ConfigModule } from '@app/config';
import { DrawdownModule } from '@app/drawdown';
import { Mt5Module } from '@app/mt5';
import { RuntimeModule } from '@app/runtime';
import { SIGNALS_HMAC_SECRET, SignalsModule } from '@app/signals';
import { StateModule } from '@app/state';
import type { BootSecrets } from './bootstrap/boot-secrets';
import { loggerOptions } from './bootstrap/logger-options';
import { GracefulShutdown } from './bootstrap/graceful-shutdown';

/** Secrets resolved before Nest starts (they may be generated into STATE_DIR). */
@Global()
@Module({})
class SecretsModule {
  static forRoot(secrets: BootSecrets): DynamicModule {
    return {
      module: SecretsModule,
      providers: [
        { provide: ADMIN_TOKEN, useValue: secrets.adminToken },
        { provide: SIGNALS_HMAC_SECRET, useValue: secrets.signalsHmacSecret },
      ],
      exports: [ADMIN_TOKEN, SIGNALS_HMAC_SECRET],
    };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, secrets: BootSecrets): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        SecretsModule.forRoot(secrets),
        LoggerModule.forRootAsync({ useFactory: () => loggerOptions(config) }),
        ScheduleModule.forRoot(),
        EventsModule,
        StateModule,
        Mt5Module,
        AlertsModule,
        DrawdownModule,
        SignalsModule,
        RuntimeModule,
        AnalyticsModule,
        TelegramCommandsModule,
      ],
      providers: [GracefulShutdown],
    };
  }
}
