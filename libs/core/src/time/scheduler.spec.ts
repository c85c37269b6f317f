import { ManualScheduler } from './scheduler';

describe('ManualScheduler: virtual time', () => {
  it('runs nothing until time is advanced, then every due timer in time order, at its due time', () => {
    const s = new ManualScheduler(0);
    const seen: [string, number][] = [];
    s.after(300, () => seen.push(['c', s.now()]));
    s.after(100, () => seen.push(['a', s.now()]));
    s.after(100, () => seen.push(['b', s.now()]));
    expect(seen).toEqual([]);
    s.advance(99);
    expect(seen).toEqual([]);
    s.advance(250);
    expect(seen).toEqual([
      ['a', 100],
      ['b', 100],
      ['c', 300],
    ]);
    expect(s.now()).toBe(349);
    expect(s.pending).toBe(0);
  });

  it('repeats `every` timers until cancelled, and a cancelled timer never runs', () => {
    const s = new ManualScheduler(0);
    const ticks: number[] = [];
    const stop = s.every(1000, () => ticks.push(s.now()));
    const never = s.after(500, () => ticks.push(-1));
    never();
    s.advance(3500);
    expect(ticks).toEqual([1000, 2000, 3000]);
    stop();
    s.advance(5000);
    expect(ticks).toEqual([1000, 2000, 3000]);
  });

  it('runs a timer scheduled by a timer when it falls due within the same advance', () => {
    const s = new ManualScheduler(0);
    const seen: number[] = [];
    s.after(10, () => s.after(10, () => seen.push(s.now())));
    s.advance(25);
    expect(seen).toEqual([20]);
  });

  it('advanceAsync lets async work a timer starts settle before the next timer', async () => {
    const s = new ManualScheduler(0);
    const log: string[] = [];
    s.every(100, () => {
      void (async () => {
        log.push(`start ${s.now()}`);
        await Promise.resolve();
        await s.sleep(30);
        log.push(`end ${s.now()}`);
      })();
    });
    await s.advanceAsync(250);
    expect(log).toEqual(['start 100', 'end 130', 'start 200', 'end 230']);
  });

  it('sleep resolves at once when its signal aborts', async () => {
    const s = new ManualScheduler(0);
    const abort = new AbortController();
    let woke = false;
    const sleeping = s.sleep(10_000, abort.signal).then(() => (woke = true));
    await s.flush();
    expect(woke).toBe(false);
    abort.abort();
    await sleeping;
    expect(woke).toBe(true);
    expect(s.pending).toBe(0);
  });
});
