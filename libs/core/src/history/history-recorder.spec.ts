import type { TradingEvent, TradingEventType } from '../events/trading-events';
import type { CoreLogger } from '../logging/core-logger.port';
import { ManualScheduler } from '../time/scheduler';
import {
  DEFAULT_HISTORY_RECORDER_OPTIONS,
  HistoryRecorder,
  type HistoryRecorderOptions,
} from './history-recorder';
import type { HistoryEvent, HistoryStore, HistoryWindow, RetentionPolicy } from './history-store.port';

/** A store in memory whose `append` can be made to fail or to hang. */
class ScriptedStore implements HistoryStore {
  readonly written: HistoryEvent[] = [];
  appends = 0;
  prunes: number[] = [];
  mode: 'ok' | 'fail' | 'hang' = 'ok';

  append(events: readonly HistoryEvent[]): Promise<void> {
    this.appends++;
    if (this.mode === 'fail') return Promise.reject(new Error('disk full'));
    if (this.mode === 'hang') return new Promise(() => undefined);
    this.written.push(...events);
    return Promise.resolve();
  }

  async *read(accountId: string, window: HistoryWindow): AsyncIterable<HistoryEvent> {
    for (const e of this.written)
      if (e.account_id === accountId && e.at >= window.from && e.at < window.to) yield e;
  }

  prune(now: number, _policy: RetentionPolicy): Promise<number> {
    this.prunes.push(now);
    return Promise.resolve(0);
  }
}

class RecordingLogger implements CoreLogger {
  readonly lines: { level: string; message: string }[] = [];
  info = (_f: object, message: string) => void this.lines.push({ level: 'info', message });
  warn = (_f: object, message: string) => void this.lines.push({ level: 'warn', message });
  error = (_f: object, message: string) => void this.lines.push({ level: 'error', message });
}

const RETENTION: RetentionPolicy = { retainMs: 90 * 86_400_000, denseEquityMs: 86_400_000 };

function setup(overrides: Partial<HistoryRecorderOptions> = {}) {
  const scheduler = new ManualScheduler();
  const store = new ScriptedStore();
  const logger = new RecordingLogger();
  const counted = { failures: 0, dropped: 0 };
  const recorder = new HistoryRecorder(
    {
      store,
      scheduler,
      clock: scheduler,
      logger,
      onWriteFailure: () => counted.failures++,
      onDropped: (n) => (counted.dropped += n),
    },
    {
      ...DEFAULT_HISTORY_RECORDER_OPTIONS,
      // The mechanism at a 1 s / 1,000-event pace (the service's own pace is slower).
      flushEveryMs: 1_000,
      maxBatch: 1_000,
      retry: { baseDelayMs: 1_000, maxDelayMs: 8_000, jitter: 'none' },
      retention: RETENTION,
      ...overrides,
    },
  );
  recorder.start();
  let n = 0;
  const event = (
    type: TradingEventType = 'signal_received',
    accountId: string | null = 'acc-1',
  ): TradingEvent => {
    n++;
    const payload = {
      signal_id: `s-${n}`,
      instrument: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      source: 'test',
      created_at: '',
    };
    return (accountId === null
      ? { type, at: scheduler.now(), payload }
      : { type, at: scheduler.now(), account_id: accountId, payload }) as unknown as TradingEvent;
  };
  return { scheduler, store, logger, counted, recorder, event };
}

describe('HistoryRecorder', () => {
  it('writes nothing in the publisher, then the buffered events at the next one-second flush, in order', async () => {
    const { scheduler, store, recorder, event } = setup();
    for (let i = 0; i < 5; i++) recorder.record(event());
    expect(store.appends).toBe(0);
    await scheduler.advanceAsync(999);
    expect(store.written).toHaveLength(0);
    await scheduler.advanceAsync(1);
    expect(store.written.map((e) => (e.payload as { signal_id: string }).signal_id)).toEqual([
      's-1',
      's-2',
      's-3',
      's-4',
      's-5',
    ]);
    expect(recorder.buffered).toBe(0);
  });

  it('keeps only events about an account (heartbeats and shutdowns are the process, not history)', async () => {
    const { scheduler, store, recorder, event } = setup();
    recorder.record(event('heartbeat', null));
    recorder.record(event('equity_sample'));
    await scheduler.advanceAsync(1_000);
    expect(store.written.map((e) => e.type)).toEqual(['equity_sample']);
  });

  it('flushes at once when 1,000 wait, in batches of at most 1,000, one append at a time', async () => {
    const { scheduler, store, recorder, event } = setup();
    let inFlight = 0;
    let maxInFlight = 0;
    const sizes: number[] = [];
    const append = store.append.bind(store);
    store.append = async (events) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      sizes.push(events.length);
      await Promise.resolve();
      await append(events);
      inFlight--;
    };
    for (let i = 0; i < 2_500; i++) recorder.record(event());
    await scheduler.flush();
    expect(sizes.slice(0, 2)).toEqual([1_000, 1_000]);
    expect(store.written).toHaveLength(2_000);
    await scheduler.advanceAsync(1_000);
    expect(store.written).toHaveLength(2_500);
    expect(maxInFlight).toBe(1);
  });

  it('retries a failed flush with backoff, counts and logs each failure, and loses nothing', async () => {
    const { scheduler, store, recorder, counted, logger, event } = setup();
    store.mode = 'fail';
    recorder.record(event());
    recorder.record(event());
    await scheduler.advanceAsync(1_000); // first try fails: retry not before +1 s
    expect(counted.failures).toBe(1);
    await scheduler.advanceAsync(1_000); // second fails: retry not before +2 s
    expect(counted.failures).toBe(2);
    await scheduler.advanceAsync(1_000); // backing off: no try
    expect(counted.failures).toBe(2);
    expect(store.appends).toBe(2);
    store.mode = 'ok';
    recorder.record(event());
    await scheduler.advanceAsync(1_000);
    expect(store.written.map((e) => (e.payload as { signal_id: string }).signal_id)).toEqual([
      's-1',
      's-2',
      's-3',
    ]);
    expect(recorder.writeFailures).toBe(2);
    expect(logger.lines.filter((l) => l.level === 'error')).toHaveLength(2);
    expect(counted.dropped).toBe(0);
  });

  it('with a store that hangs, publishing never waits: the buffer fills to its bound and the rest is dropped and counted', async () => {
    const { scheduler, store, recorder, counted, event } = setup({ maxBuffered: 3_000 });
    store.mode = 'hang';
    recorder.record(event());
    await scheduler.advanceAsync(1_000);
    expect(store.appends).toBe(1);
    const started = performance.now();
    for (let i = 0; i < 5_000; i++) recorder.record(event());
    // Synchronous and cheap: 5,000 records, no I/O, no await.
    expect(performance.now() - started).toBeLessThan(200);
    await scheduler.advanceAsync(10_000);
    expect(store.appends).toBe(1); // the one hung flush; never a second one beside it
    expect(recorder.buffered).toBe(3_000);
    expect(counted.dropped).toBe(2_001);
  });

  it('stop() writes what is left', async () => {
    const { scheduler, store, recorder, event } = setup();
    recorder.record(event());
    recorder.record(event());
    const stopped = recorder.stop(5_000);
    await scheduler.flush();
    await stopped;
    expect(store.written).toHaveLength(2);
    recorder.record(event());
    expect(recorder.buffered).toBe(0);
  });

  it('stop() with a hanging store gives up at its budget, counting what is left as dropped', async () => {
    const { scheduler, store, recorder, counted, logger, event } = setup();
    store.mode = 'hang';
    recorder.record(event());
    await scheduler.advanceAsync(1_000);
    recorder.record(event());
    let done = false;
    const stopped = recorder.stop(5_000).then(() => (done = true));
    await scheduler.advanceAsync(4_999);
    expect(done).toBe(false);
    await scheduler.advanceAsync(1);
    await stopped;
    expect(counted.dropped).toBe(2);
    expect(logger.lines.some((l) => l.level === 'error' && l.message.includes('not written'))).toBe(true);
  });

  it('stop() with a failing store retries within its budget and succeeds when the store comes back', async () => {
    const { scheduler, store, recorder, counted, event } = setup();
    store.mode = 'fail';
    recorder.record(event());
    const stopped = recorder.stop(10_000);
    await scheduler.flush();
    expect(counted.failures).toBe(1);
    store.mode = 'ok';
    await scheduler.advanceAsync(1_000);
    await stopped;
    expect(store.written).toHaveLength(1);
    expect(counted.dropped).toBe(0);
  });

  it('prunes at start and then once an hour, with the retention policy', async () => {
    const { scheduler, store } = setup();
    await scheduler.flush();
    expect(store.prunes).toHaveLength(1);
    await scheduler.advanceAsync(3_600_000);
    expect(store.prunes).toHaveLength(2);
  });
});
