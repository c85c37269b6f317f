import { withDeadline } from './deadline';
import { ManualScheduler } from './scheduler';

describe('withDeadline', () => {
  it('answers done when the work ends first, and leaves no timer behind', async () => {
    const s = new ManualScheduler(0);
    expect(await withDeadline(s, Promise.resolve(1), 1000)).toBe('done');
    expect(s.pending).toBe(0);
  });

  it('answers timed_out at the deadline when the work has not ended', async () => {
    const s = new ManualScheduler(0);
    const result = withDeadline(s, new Promise(() => undefined), 1000);
    await s.advanceAsync(999);
    let settled = false;
    void result.then(() => (settled = true));
    await s.flush();
    expect(settled).toBe(false);
    await s.advanceAsync(1);
    expect(await result).toBe('timed_out');
  });

  it('counts a failed work as done: the caller logs failures where they happen', async () => {
    const s = new ManualScheduler(0);
    expect(await withDeadline(s, Promise.reject(new Error('x')), 10)).toBe('done');
  });
});
