import { mapWithConcurrency } from './map-with-concurrency';

/** A task runner that records how many calls are in flight and lets the test finish them in any order. */
function gatedTasks() {
  let inFlight = 0;
  let peak = 0;
  const waiting = new Map<number, () => void>();
  const started: number[] = [];
  const fn = (item: number) =>
    new Promise<string>((resolve) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      started.push(item);
      waiting.set(item, () => {
        inFlight--;
        resolve(`r${item}`);
      });
    });
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    fn,
    flush,
    started,
    peak: () => peak,
    inFlight: () => inFlight,
    finish: (item: number) => {
      const done = waiting.get(item);
      if (done === undefined) throw new Error(`item ${item} is not running`);
      waiting.delete(item);
      done();
    },
  };
}

describe('mapWithConcurrency', () => {
  it('never has more than `limit` calls in flight and keeps results in input order when they finish out of order', async () => {
    const tasks = gatedTasks();
    const items = [0, 1, 2, 3, 4, 5, 6];
    const all = mapWithConcurrency(items, 3, tasks.fn);
    await tasks.flush();
    expect(tasks.started).toEqual([0, 1, 2]);
    const finished: number[] = [];
    // Always finish the newest running call (last in, first out), so results complete out of order.
    while (finished.length < items.length) {
      const running = tasks.started.filter((item) => !finished.includes(item));
      expect(running.length).toBeLessThanOrEqual(3);
      const newest = running[running.length - 1];
      tasks.finish(newest);
      finished.push(newest);
      await tasks.flush();
    }
    expect(finished).toEqual([2, 3, 4, 5, 6, 1, 0]);
    expect(await all).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    expect(tasks.peak()).toBe(3);
    expect(tasks.inFlight()).toBe(0);
  });

  it('starts the next item as soon as any call finishes', async () => {
    const tasks = gatedTasks();
    const all = mapWithConcurrency([10, 11, 12, 13], 2, tasks.fn);
    await tasks.flush();
    expect(tasks.started).toEqual([10, 11]);
    tasks.finish(11);
    await tasks.flush();
    expect(tasks.started).toEqual([10, 11, 12]);
    tasks.finish(12);
    await tasks.flush();
    expect(tasks.started).toEqual([10, 11, 12, 13]);
    tasks.finish(10);
    tasks.finish(13);
    expect(await all).toEqual(['r10', 'r11', 'r12', 'r13']);
    expect(tasks.peak()).toBe(2);
  });

  it('runs one at a time with limit 1, and all at once with a limit above the item count', async () => {
    let inFlight = 0;
    let peak = 0;
    const fn = async (item: number) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return item * 2;
    };
    expect(await mapWithConcurrency([1, 2, 3, 4], 1, fn)).toEqual([2, 4, 6, 8]);
    expect(peak).toBe(1);
    peak = 0;
    expect(await mapWithConcurrency([1, 2, 3], 10, fn)).toEqual([2, 4, 6]);
    expect(peak).toBe(3);
  });

  it('returns an empty array for no items without calling fn', async () => {
    const fn = jest.fn(() => Promise.resolve(1));
    expect(await mapWithConcurrency([], 4, fn)).toEqual([]);
    expect(fn).not.toHaveBeenCalled();
  });

  it('treats a limit below 1 as 1 rather than doing nothing', async () => {
    expect(await mapWithConcurrency([1, 2], 0, (n) => Promise.resolve(n + 1))).toEqual([2, 3]);
  });

  it('rejects when a call throws', async () => {
    await expect(
      mapWithConcurrency([1, 2, 3], 2, (n) =>
        n === 2 ? Promise.reject(new Error('boom')) : Promise.resolve(n),
      ),
    ).rejects.toThrow('boom');
  });
});
