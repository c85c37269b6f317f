import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { AccountRegistry, type AccountRuntime, type TradingEvent, type TradingEventType } from '@app/core';
import { EventBus } from '@app/common';
import { loadConfig, type AppConfig } from '@app/config';
import { createApp } from '../../apps/trading-bot/src/bootstrap/create-app';
import type { BootSecrets } from '../../apps/trading-bot/src/bootstrap/boot-secrets';
import { waitForMatch } from './wait-for-match';
import { waitUntil } from './wait-until';

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
  /**
   * Resolves once `count` events of `type` (those `predicate` accepts) have been published since
   * the start, with them. "N more" is `eventsOf(type).length + N`, or `waitForMoreEvents`.
   */
  waitForEventCount<K extends TradingEventType>(
    type: K,
    count: number,
    predicate?: (e: Extract<TradingEvent, { type: K }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<TradingEvent, { type: K }>[]>;
  /** Resolves once `n` more events of `type` (those `predicate` accepts) than so far have been published. */
  waitForMoreEvents<K extends TradingEventType>(
    type: K,
    n: number,
    predicate?: (e: Extract<TradingEvent, { type: K }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<TradingEvent, { type: K }>[]>;
  /** Resolves with what `find` returns once it returns something, checked now and on every published event. */
  waitForState<T>(find: () => T | undefined, what: string, timeoutMs?: number): Promise<T>;
  /** An account's runtime (`default`: the one account of a service without ACCOUNTS_FILE). */
  account(id?: string): AccountRuntime;
  /** Ticks of the trading loops completed so far (every account's). */
  loopTicks(): number;
  /**
   * Resolves once the trading loop has completed `n` more ticks. A tick runs every LOOP_TICK_MS
   * and at once when a signal is accepted, so of 2 more ticks one at least started after now.
   */
  waitForLoopTicks(n: number, timeoutMs?: number): Promise<void>;
  /**
   * Resolves once the executor has recorded (on disk, published) every outcome it has in hand,
   * those of settlements behind the loop too. After `waitForLoopTicks`: whatever the signals those
   * ticks took led to is visible. (A settlement behind the loop waiting for a dead bridge holds it.)
   */
  waitForRecordedOutcomes(timeoutMs?: number): Promise<void>;
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
  const waitForEventCount = <K extends TradingEventType>(
    type: K,
    count: number,
    predicate: (e: Extract<TradingEvent, { type: K }>) => boolean = () => true,
    timeoutMs = 10_000,
  ) =>
    waitForMatch(
      () => {
        const matching = eventsOf(type).filter(predicate);
        return matching.length >= count ? matching : undefined;
      },
      waiters,
      timeoutMs,
      () =>
        `not ${count} ${type} events within ${timeoutMs} ms (${eventsOf(type).filter(predicate).length} matching)`,
    );
  const account = (id = 'default'): AccountRuntime => {
    const runtime = app.get(AccountRegistry).account(id);
    if (runtime === undefined) throw new Error(`no account ${id}`);
    return runtime;
  };
  const loopTicks = () =>
    app
      .get(AccountRegistry)
      .all()
      .reduce((sum, r) => sum + r.loop.progress.ticksCompleted, 0);
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
    waitForEventCount,
    waitForMoreEvents: (type, n, predicate = () => true, timeoutMs) =>
      waitForEventCount(type, eventsOf(type).filter(predicate).length + n, predicate, timeoutMs),
    waitForState: (find, what, timeoutMs = 10_000) =>
      waitForMatch(find, waiters, timeoutMs, () => `${what}: not within ${timeoutMs} ms`),
    account,
    loopTicks,
    waitForLoopTicks: async (n, timeoutMs = 10_000) => {
      const target = loopTicks() + n;
      await waitUntil(() => loopTicks() >= target, {
        what: `${n} more ticks of the trading loop`,
        timeoutMs,
        detail: () => `${loopTicks() - target + n} completed`,
      });
    },
    waitForRecordedOutcomes: async (timeoutMs = 10_000) => {
      let recorded = false;
      void Promise.all(
        app
          .get(AccountRegistry)
          .all()
          .map((r) => r.executor.flushOutcomes()),
      ).then(() => (recorded = true));
      await waitUntil(() => recorded, {
        what: 'the executor to record the outcomes it had in hand',
        timeoutMs,
      });
    },
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
