import type { Alert } from '../alerts/alert';
import type { TradingEvent } from '../events/trading-events';
import { ManualScheduler } from '../time/scheduler';
import { AccountProgress } from './account-progress';
import { LoopProgress } from './loop-progress';
import { ProcessHeartbeat, type HeartbeatAccount } from './process-heartbeat';
import { TradingCounters } from './trading-counters';

function account(
  id: string,
  scheduler: ManualScheduler,
  equity = 1000,
): HeartbeatAccount & { halted: boolean } {
  const counters = new TradingCounters();
  return {
    id,
    halted: false,
    loop: { progress: new LoopProgress(scheduler.now()) },
    progress: new AccountProgress(scheduler.now(), 3_000),
    counters,
    isHalted() {
      return this.halted;
    },
    snapshot: () => ({ openPositions: 2, equity, drawdownPercent: id === 'b' ? 4 : 1 }),
  };
}

function setUp(ids: string[], alertStaleAccounts = true) {
  const scheduler = new ManualScheduler();
  const accounts = ids.map((id) => account(id, scheduler));
  const events: TradingEvent[] = [];
  const alerts: Alert[] = [];
  const stamps: number[] = [];
  const heartbeat = new ProcessHeartbeat(
    { intervalMs: 1_000, staleAfterMs: 3_000, loopId: 'loop', alertStaleAccounts },
    {
      accounts: () => accounts,
      counts: (now) => ({
        total: accounts.length,
        running: accounts.filter((a) => !a.halted && !a.progress.isStale(now)).length,
        halted: accounts.filter((a) => a.halted).length,
        stale: accounts.filter((a) => !a.halted && a.progress.isStale(now)).length,
      }),
      events: {
        publish: (type, payload) => events.push({ type, at: scheduler.now(), payload } as TradingEvent),
      },
      alerts: { send: (alert) => alerts.push(alert) },
      stamp: { stamp: (now) => stamps.push(now) },
      scheduler,
      clock: scheduler,
    },
  );
  const tick = (i: number) => {
    accounts[i].loop.progress.tickStarted(scheduler.now());
    accounts[i].loop.progress.tickCompleted(scheduler.now());
  };
  const pass = (i: number) => accounts[i].progress.passCompleted(scheduler.now());
  return { scheduler, accounts, events, alerts, stamps, heartbeat, tick, pass };
}

describe('ProcessHeartbeat', () => {
  it('beats only when some account loop completed a tick, with the accounts totals and counts', () => {
    const { scheduler, heartbeat, events, tick, accounts, pass } = setUp(['a', 'b']);
    heartbeat.start();
    scheduler.advance(1_000);
    expect(events).toHaveLength(0); // nothing ticked: no heartbeat, whatever the timer does
    accounts[0].counters.signals = 3;
    accounts[1].counters.trades = 2;
    tick(1);
    pass(0);
    pass(1);
    scheduler.advance(1_000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'heartbeat',
      payload: {
        loop_id: 'loop',
        metrics: { signals: 3, trades: 2, errors: 0, open_positions: 4, equity: 2000, drawdown_percent: 4 },
        accounts: { total: 2, running: 2, halted: 0, stale: 0 },
      },
    });
    scheduler.advance(1_000);
    expect(events).toHaveLength(1);
  });

  it('alerts a stale account by name once, and its recovery once; the others stay quiet', () => {
    const { scheduler, heartbeat, alerts, pass, tick } = setUp(['a', 'b']);
    heartbeat.start();
    for (let s = 0; s < 5; s++) {
      pass(0); // a completes its passes, b does not
      tick(0);
      scheduler.advance(1_000);
    }
    expect(alerts.map((a) => [a.kind, a.accountId, a.text.split('\n')[0]])).toEqual([
      [
        'heartbeat_stale',
        'b',
        expect.stringMatching(/^Heartbeat stale: account b, no completed pass .* for [34] s$/),
      ],
    ]);
    pass(1);
    scheduler.advance(1_000);
    expect(alerts.at(-1)).toMatchObject({ kind: 'heartbeat_recovered', accountId: 'b' });
    expect(alerts.at(-1)?.text).toMatch(/^Heartbeat recovered: account b/);
    expect(alerts).toHaveLength(2);
  });

  it('with one account, leaves staleness to the process watchdog (no account alerts)', () => {
    const { scheduler, heartbeat, alerts } = setUp(['default'], false);
    heartbeat.start();
    scheduler.advance(10_000);
    expect(alerts).toEqual([]);
  });

  it('reports the heartbeat age from start, then from the last beat', () => {
    const { scheduler, heartbeat, tick } = setUp(['a']);
    heartbeat.start();
    scheduler.advance(2_500);
    expect(heartbeat.heartbeatAgeMs(scheduler.now())).toBe(2_500);
    tick(0);
    scheduler.advance(500); // the beat at 3,000
    expect(heartbeat.heartbeatAgeMs(scheduler.now())).toBe(0);
    expect(heartbeat.lastHeartbeatAt).toBe(scheduler.now());
  });
});
