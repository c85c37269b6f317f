import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { AccountRegistry, SignalFanOut, type TradingEvent, type TradeSignal } from '@app/core';
import { EventBus } from '@app/common';
import { loadConfig } from '@app/config';
import { createApp } from '../apps/trading-bot/src/bootstrap/create-app';

/**
 * The heartbeat on a fake clock driving the real app: one every HEARTBEAT_INTERVAL_MS while the
 * loop makes progress, with cumulative counts, and none while a tick is wedged.
 */
describe('heartbeat', () => {
  let app: INestApplication;
  let dir: string;
  const events: TradingEvent[] = [];
  const heartbeats = () =>
    events.filter((e): e is Extract<TradingEvent, { type: 'heartbeat' }> => e.type === 'heartbeat');

  beforeEach(async () => {
    events.length = 0;
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-test-'));
    // Fake timers before init: the scheduler's intervals run on the fake clock.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const loaded = loadConfig({
      STATE_DIR: dir,
      LOG_LEVEL: 'silent',
      SIGNAL_SOURCES: 'inbox',
      LOOP_ID: 'hb-loop',
      HEARTBEAT_INTERVAL_MS: '10000',
    });
    if (!loaded.ok) throw new Error('bad test config');
    ({ app } = await createApp(loaded.config));
    app.get(EventBus).subscribe((e) => events.push(e));
    await app.init();
  });

  afterEach(async () => {
    jest.useRealTimers();
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('emits 6 heartbeats in 60 s, each with the loop id and cumulative counts', async () => {
    await jest.advanceTimersByTimeAsync(60_000);
    expect(heartbeats()).toHaveLength(6);
    for (const beat of heartbeats()) {
      expect(beat.payload.loop_id).toBe('hb-loop');
      expect(beat.payload.metrics).toMatchObject({ signals: 0, trades: 0, errors: 0 });
    }
  });

  it('counts 10 signals of which the broker rejects 2 as signals 10, trades 8, errors 2', async () => {
    const fanOut = app.get(SignalFanOut);
    const now = Date.now();
    for (let i = 0; i < 10; i++) {
      // The paper account quotes no XXXYYY: the broker answers INVALID, a final retcode. (An
      // off-step volume no longer reaches it: the account's sizing rounds it down to the step.)
      const signal: TradeSignal = {
        id: `hb-${i}`,
        instrument: i < 2 ? 'XXXYYY' : 'EURUSD',
        side: 'buy',
        volume: 0.01,
        createdAtMs: now,
        receivedAtMs: now,
        source: 'test',
      };
      expect((await fanOut.submit(signal)).kind).toBe('accepted');
    }
    // Let the loop's real I/O (ledger, paper account saves) finish between fake ticks.
    for (
      let i = 0;
      i < 50 && events.filter((e) => e.type === 'trade_executed' || e.type === 'trade_failed').length < 10;
      i++
    ) {
      await jest.advanceTimersByTimeAsync(250);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) =>
        jest.requireActual<typeof import('node:timers')>('node:timers').setTimeout(resolve, 5),
      );
    }
    await jest.advanceTimersByTimeAsync(10_000);
    const last = heartbeats().at(-1);
    expect(last?.payload.metrics).toMatchObject({ signals: 10, trades: 8, errors: 2 });
    const failures = events.filter(
      (e): e is Extract<TradingEvent, { type: 'trade_failed' }> => e.type === 'trade_failed',
    );
    expect(failures.map((f) => f.payload.retcode)).toEqual([10013, 10013]);
  });

  it('stops heartbeats while a tick is wedged, and resumes after it completes', async () => {
    await jest.advanceTimersByTimeAsync(10_000);
    expect(heartbeats()).toHaveLength(1);
    for (const account of app.get(AccountRegistry).all()) account.loop.stallNextTick(45_000);
    // A tick that completed just before the stall may still earn one heartbeat.
    await jest.advanceTimersByTimeAsync(10_500);
    const beforeWedge = heartbeats().length;
    expect(beforeWedge).toBeLessThanOrEqual(2);
    await jest.advanceTimersByTimeAsync(30_000);
    expect(heartbeats()).toHaveLength(beforeWedge); // no progress, no heartbeat, whatever the timer does
    await jest.advanceTimersByTimeAsync(20_000);
    expect(heartbeats().length).toBeGreaterThan(beforeWedge);
  });
});
