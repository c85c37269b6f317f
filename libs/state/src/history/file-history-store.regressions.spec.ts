import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HistoryRecorder,
  DEFAULT_HISTORY_RECORDER_OPTIONS,
  ManualScheduler,
  type HistoryEvent,
} from '@app/core';
import { received } from '../testing/history-store-contract';
import { FileHistoryStore } from './file-history-store';

const accountDir = (dir: string) => (accountId: string) => join(dir, 'accounts', accountId);

async function all(events: AsyncIterable<HistoryEvent>): Promise<HistoryEvent[]> {
  const out: HistoryEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe('FileHistoryStore', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'history-regressions-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // docs/history.md: "A line torn by a crash is skipped when read". After the restart the next
  // append goes straight after the torn bytes (no newline in between), so the first event written
  // after the crash is glued onto the torn fragment and is lost too.
  it('keeps the first event written after a crash tore the last line', async () => {
    const store = new FileHistoryStore({
      accountDir: accountDir(dir),
      accountIds: [],
      onProblem: () => undefined,
    });
    const at = Date.UTC(2026, 10, 30, 9);
    await store.append([received('acct-a', at, 's-1')]);
    // The crash: half a line, no newline.
    await appendFile(join(dir, 'accounts', 'acct-a', 'history', '2026-11-30.jsonl'), '{"type":"signal_rec');
    // The restarted process goes on appending to the same day's file.
    const restarted = new FileHistoryStore({
      accountDir: accountDir(dir),
      accountIds: [],
      onProblem: () => undefined,
    });
    await restarted.append([received('acct-a', at + 10, 's-2'), received('acct-a', at + 20, 's-3')]);

    const ids = (await all(restarted.read('acct-a', { from: at, to: at + 1_000 }))).map(
      (e) => (e.payload as { signal_id: string }).signal_id,
    );
    expect(ids).toEqual(['s-1', 's-2', 's-3']);
  });

  // A batch spans several files (accounts, days). When one file's write fails, the others were
  // already appended durably, yet append() rejects and the recorder retries the whole batch:
  // every event of the files that succeeded is written a second time.
  it('does not duplicate the events of other accounts when one file of a batch fails and is retried', async () => {
    const store = new FileHistoryStore({ accountDir: accountDir(dir), accountIds: [] });
    const at = Date.UTC(2026, 10, 30, 9);
    // acct-b's directory cannot be created for now (a file stands where its directory goes).
    await mkdir(join(dir, 'accounts'), { recursive: true });
    await writeFile(join(dir, 'accounts', 'acct-b'), 'in the way');

    const scheduler = new ManualScheduler(at);
    const recorder = new HistoryRecorder(
      {
        store,
        scheduler,
        clock: scheduler,
        logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      },
      {
        ...DEFAULT_HISTORY_RECORDER_OPTIONS,
        flushEveryMs: 1_000,
        retention: { retainMs: 90 * 86_400_000, denseEquityMs: 86_400_000 },
      },
    );
    recorder.start();
    recorder.record(received('acct-a', at, 'a-1'));
    recorder.record(received('acct-b', at, 'b-1'));
    scheduler.advance(1_000); // the first flush: acct-a written, acct-b fails
    for (let i = 0; i < 200 && recorder.writeFailures === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(recorder.writeFailures).toBe(1);

    // The problem goes away; the retry (1 s later) writes the batch again.
    await rm(join(dir, 'accounts', 'acct-b'));
    scheduler.advance(2_000);
    for (let i = 0; i < 200 && recorder.buffered > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      scheduler.advance(1_000);
    }
    expect(recorder.buffered).toBe(0);
    const stopping = recorder.stop(100);
    scheduler.advance(100);
    await stopping;

    const a = await all(store.read('acct-a', { from: at, to: at + 1 }));
    expect(a.map((e) => (e.payload as { signal_id: string }).signal_id)).toEqual(['a-1']);
  });
});
