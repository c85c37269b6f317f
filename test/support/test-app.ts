import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { TradingEvent, TradingEventType } from '@app/core';
import { EventBus } from '@app/common';
import { loadConfig, type AppConfig } from '@app/config';
import { createApp } from '../../apps/trading-bot/src/bootstrap/create-app';
import type { BootSecrets } from '../../apps/trading-bot/src/bootstrap/boot-secrets';
import { waitForMatch } from './wait-for-match';

export interface TestApp {
  app: INestApplication;
  baseUrl: string;
  config: AppConfig;
  secrets: BootSecrets;
  stateDir: string;
  events: TradingEvent[];
  eventsOf<K extends TradingEventType>(type: K): Extract<TradingEvent, { type: K }>[];
  waitForEvent<K extends TradingEventType>(
    type: K,
    predicate?: (e: Extract<TradingEvent, { type: K }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<TradingEvent, { type: K }>>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(options?: { keepState?: boolean }): Promise<void>;
}

/**
 * Start the real app (every module, real HTTP on 127.0.0.1) with test-friendly defaults:
 * a temp STATE_DIR, port 0, quiet logs, no demo signals. `env` overrides anything.
 */
export async function startTestApp(env: Record<string, string> = {}, stateDir?: string): Promise<TestApp> {
  const dir = stateDir ?? (await mkdtemp(join(tmpdir(), 'trading-bot-test-')));
  const loaded = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    STATE_DIR: dir,
    SIGNAL_SOURCES: 'inbox',
    LOOP_ID: 'test-loop',
    CLOSE_ON_SHUTDOWN: 'false',
    ...env,
  });
  if (!loaded.ok) throw new Error(`test config invalid: ${JSON.stringify(loaded.problems)}`);
  const config = loaded.config;
  const { app, secrets } = await createApp(config);
  const events: TradingEvent[] = [];
  const waiters = new Set<() => void>();
  app.get(EventBus).subscribe((event) => {
    events.push(event);
    for (const waiter of waiters) waiter();
  });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${address.port}`;

  const eventsOf = <K extends TradingEventType>(type: K) =>
    events.filter((e): e is Extract<TradingEvent, { type: K }> => e.type === type);
  return {
    app,
    baseUrl,
    config,
    secrets,
    stateDir: dir,
    events,
    eventsOf,
    waitForEvent: (type, predicate = () => true, timeoutMs = 10_000) =>
      waitForMatch(
        () => eventsOf(type).find(predicate),
        waiters,
        timeoutMs,
        () => `no ${type} event within ${timeoutMs} ms; saw ${events.map((e) => e.type).join(', ')}`,
      ),
    admin: async (method, path, body) => {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${secrets.adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json().catch(() => null) };
    },
    close: async (options = {}) => {
      await app.close();
      if (!options.keepState && stateDir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
