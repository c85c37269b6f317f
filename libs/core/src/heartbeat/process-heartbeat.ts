import type { Alert, AlertSink } from '../alerts/alert';
import type { EventSink } from '../events/event-sink.port';
import type { HeartbeatMetrics } from '../events/trading-events';
import { roundMoneyOrNull, roundPercentOrNull } from '../numbers/output-precision';
import type { Clock } from '../time/clock';
import type { Cancel, Scheduler } from '../time/scheduler';
import type { AccountProgress } from './account-progress';
import type { HeartbeatStamp } from './heartbeat';
import type { LoopProgress } from './loop-progress';
import type { TradingCounters } from './trading-counters';

/** One account as the heartbeat reads it. */
export interface HeartbeatAccount {
  readonly id: string;
  readonly loop: { readonly progress: LoopProgress };
  readonly progress: AccountProgress;
  readonly counters: TradingCounters;
  isHalted(): boolean;
  snapshot(): { openPositions: number | null; equity: number | null; drawdownPercent: number | null };
}

export interface ProcessHeartbeatPorts {
  accounts(): readonly HeartbeatAccount[];
  /** The accounts by state, for the heartbeat line. */
  counts(now: number): AccountCounts;
  events: EventSink;
  alerts: AlertSink;
  stamp: HeartbeatStamp;
  scheduler: Scheduler;
  clock: Clock;
}

export interface AccountCounts {
  total: number;
  running: number;
  halted: number;
  stale: number;
}

/**
 * The process's heartbeat (docs/service.md, Logs; docs/accounts.md, Heartbeat): every
 * HEARTBEAT_INTERVAL_MS one `heartbeat` event, but only when some account's trading loop completed
 * a tick since the previous one, so a frozen main thread or wedged loops stop heartbeats and the
 * watchdog and liveness see it. Its counts are the accounts' totals. It also watches each
 * account's own progress: an account none of whose passes completed for HEARTBEAT_STALE_AFTER_MS
 * is stale, alerted by name (with several accounts), and alerted again when it recovers.
 */
export class ProcessHeartbeat {
  private cancel: Cancel | undefined;
  /** Each account's completed ticks at the last beat (accounts come and go with shared accounts). */
  private ticksAtLastBeat = new Map<HeartbeatAccount, number>();
  private lastBeat: number | null = null;
  private readonly startedAt: number;
  /** Accounts alerted as stale, with when their staleness began. */
  private readonly staleSince = new Map<string, number>();

  constructor(
    private readonly settings: {
      intervalMs: number;
      staleAfterMs: number;
      loopId: string;
      alertStaleAccounts: boolean;
      /**
       * Shared accounts (docs/scale-out.md): a process that owns no account right now still
       * beats, since it runs; it is not stuck for having nothing to trade.
       */
      beatWithoutAccounts?: boolean;
    },
    private readonly ports: ProcessHeartbeatPorts,
  ) {
    this.startedAt = ports.clock.now();
  }

  start(): void {
    this.ports.stamp.stamp(this.ports.clock.now()); // start of the staleness clock
    this.loopsProgressed();
    this.cancel = this.ports.scheduler.every(this.settings.intervalMs, () => this.beat());
  }

  stop(): void {
    this.cancel?.();
  }

  get lastHeartbeatAt(): number | null {
    return this.lastBeat;
  }

  /** Milliseconds since the last heartbeat (or since start, before the first one). */
  heartbeatAgeMs(now: number): number {
    return Math.max(0, now - (this.lastBeat ?? this.startedAt));
  }

  /** One heartbeat period: watch the accounts, then emit if a loop made progress. Returns whether it emitted. */
  beat(): boolean {
    const now = this.ports.clock.now();
    this.watchAccounts(now);
    if (!this.loopsProgressed()) return false;
    this.lastBeat = now;
    this.ports.stamp.stamp(now);
    this.ports.events.publish('heartbeat', {
      loop_id: this.settings.loopId,
      metrics: this.metrics(),
      accounts: this.ports.counts(now),
    });
    return true;
  }

  /** Whether some account's loop completed a tick since the last call (an account new since counts if it ticked). */
  private loopsProgressed(): boolean {
    const accounts = this.ports.accounts();
    if (accounts.length === 0) return this.settings.beatWithoutAccounts === true;
    const ticks = new Map<HeartbeatAccount, number>();
    let progressed = false;
    for (const account of accounts) {
      const completed = account.loop.progress.ticksCompleted;
      ticks.set(account, completed);
      if (completed > (this.ticksAtLastBeat.get(account) ?? 0)) progressed = true;
    }
    this.ticksAtLastBeat = ticks;
    return progressed;
  }

  /** Totals over the accounts; with one account, its own equity and drawdown (the single-account line). */
  private metrics(): HeartbeatMetrics {
    const accounts = this.ports.accounts();
    let signals = 0;
    let trades = 0;
    let errors = 0;
    let openPositions = 0;
    let equity: number | null = null;
    let drawdown: number | null = null;
    let loopDuration = 0;
    for (const account of accounts) {
      const counts = account.counters.snapshot();
      signals += counts.signals;
      trades += counts.trades;
      errors += counts.errors;
      const snapshot = account.snapshot();
      openPositions += snapshot.openPositions ?? 0;
      if (snapshot.equity !== null) equity = (equity ?? 0) + snapshot.equity;
      // The deepest drawdown of any account: the number an operator scans for.
      if (snapshot.drawdownPercent !== null) drawdown = Math.max(drawdown ?? 0, snapshot.drawdownPercent);
      loopDuration = Math.max(loopDuration, account.loop.progress.lastTickDurationMs);
    }
    return {
      signals,
      trades,
      errors,
      open_positions: openPositions,
      equity: roundMoneyOrNull(equity),
      drawdown_percent: roundPercentOrNull(drawdown),
      loop_duration_ms: loopDuration,
    };
  }

  /** Stale and recovered accounts, each alerted once per episode. */
  private watchAccounts(now: number): void {
    for (const account of this.ports.accounts()) {
      const stale = account.progress.isStale(now);
      const since = this.staleSince.get(account.id);
      if (stale && since === undefined) {
        const seconds = Math.round(account.progress.sincePassMs(now) / 1000);
        this.staleSince.set(account.id, now - account.progress.sincePassMs(now));
        this.alert(account.id, {
          kind: 'heartbeat_stale',
          text: `Heartbeat stale: account ${account.id}, no completed pass (equity check or order) for ${seconds} s\nLoop ${this.settings.loopId}`,
        });
      } else if (!stale && since !== undefined) {
        this.staleSince.delete(account.id);
        const seconds = Math.round((now - since) / 1000);
        this.alert(account.id, {
          kind: 'heartbeat_recovered',
          text: `Heartbeat recovered: account ${account.id}, passes complete again after ${seconds} s\nLoop ${this.settings.loopId}`,
        });
      }
    }
  }

  private alert(accountId: string, alert: Alert): void {
    if (this.settings.alertStaleAccounts) this.ports.alerts.send({ ...alert, accountId });
  }
}
