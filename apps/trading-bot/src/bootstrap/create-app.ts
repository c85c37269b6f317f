import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import type { AppConfig } from '@app/config';
import { AppModule } from '../app.module';
import { BOOT_SECRETS, type BootSecrets } from './boot-secrets';
import { configureApp } from './configure-app';

/** Build the configured Nest app (main.ts and the e2e tests share this, so tests run the real thing). */
export async function createApp(config: AppConfig): Promise<{ app: INestApplication; secrets: BootSecrets }> {
  const app = await NestFactory.create(AppModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
    // A provider that fails (STATE_DIR held by another process, damaged paper state) must reach
    // main's catch and its one JSON `startup_failed` line, not Nest's console text and abort.
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  configureApp(app);
  return { app, secrets: app.get<BootSecrets>(BOOT_SECRETS) };
}
