import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import {
  DrawdownPolicy,
  EquityReadTracker,
  emptyRiskState,
  parseRiskState,
  roundMoney,
  roundMoneyOrNull,
  roundPercent,
  roundPercentOrNull,
  type BrokerGateway,
  type Clock,
  type HaltRecord,
  type Position,
  type RiskState,
} from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { AlertDispatcher } from '@app/alerts';
import { EventBus } from '@app/common';
import { BROKER_GATEWAY } from '@app/mt5/mt5.tokens';
import { STATE_STORE, type StateStore } from '@app/state';
import { CloseAllPositions, type CloseAllReport } from './close-all-positions';
import { ClosedPositionReporter } from './closed-position-reporter';
import { capTriggerAlertText, formatPercent } from './drawdown-alert-text';
import type { HaltStatus } from './halt-status.port';

const EQUITY_CHECK_INTERVAL = 'equity-check';
/** After an unconfirmed breach, the next read comes this soon (or at the interval, if shorter). */
const CONFIRM_READ_DELAY_MS = 100;

export type PreTradeDecision = { allowed: true } | { allowed: false; reason: string };

export type HaltSource = HaltRecord['source'];

/** What status, heartbeat and metrics show of the guard. */
export interface GuardSnapshot {
  halted: boolean;
  halt: HaltRecord | null;
  equity: number | null;
  baselineEquity: number | null;
  drawdownPercent: number | null;
  dailyDrawdownPercent: number | null;
  capPercent: number;
  openPositions: number | null;
  equityReadsBlocked: boolean;
  closingInProgress: boolean;
}

export type ResumeResult =
  | { ok: true; baselineEquity: number }
  | { ok: false; code: 'not_halted' | 'equity_unavailable' | 'persist_failed'; message: string };

/**
 * The drawdown guard: reads equity every EQUITY_CHECK_INTERVAL_MS whether or not signals
 * arrive, answers the loop's pre-trade check, and on a breach (or a manual halt) runs the
 * trigger sequence of docs/risk.md: latch and persist first, then close every position until none is
 * left, then report, alert and audit. The rules themselves live in the pure DrawdownPolicy.
 */
@Injectable()
export class DrawdownGuard implements HaltStatus, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DrawdownGuard.name);
  private policy: DrawdownPolicy;
  private readonly reads = new EquityReadTracker(3);
  private readonly closer: CloseAllPositions;
  /** `position_closed`: the service's positions that a stop, a stop-out or a person closed. */
  readonly closedPositions: ClosedPositionReporter;
  private last: {
    equity: number | null;
    drawdown: number | null;
    daily: number | null;
    baseline: number | null;
    positions: number | null;
    at: number | null;
  } = {
    equity: null,
    drawdown: null,
    daily: null,
    baseline: null,
    positions: null,
    at: null,
  };
  private checking: Promise<void> | undefined;
  private closing: { done: Promise<CloseAllReport>; abort: AbortController } | undefined;
  /** The latch or baselines changed but did not reach the disk: retried on every check. */
  private unpersisted = false;
  /** The cap the latest periodic read breached (not yet confirmed), if any. */
  private lastBreach: 'drawdown_cap' | 'daily_cap' | null = null;
  private stopped = false;
  private confirmTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BROKER_GATEWAY) private readonly broker: BrokerGateway,
    @Inject(STATE_STORE) private readonly state: StateStore,
    private readonly alerts: AlertDispatcher,
    private readonly events: EventBus,
    private readonly scheduler: SchedulerRegistry,
  ) {
    this.policy = this.newPolicy(emptyRiskState());
    this.closer = new CloseAllPositions(broker, clock, this.logger);
    this.closedPositions = new ClosedPositionReporter(
      broker,
      config.mt5.magic,
      events,
      alerts,
      this.logger,
      (position) => this.closer.closed.withRequestId(position.comment) !== undefined,
      config.loopId,
    );
  }

  /** Load the latch and baselines before anything trades; untrusted state starts halted. */
  async onApplicationBootstrap(): Promise<void> {
    const loaded = await this.state.loadRiskState();
    const problems = [...this.state.loadProblems];
    let initial = emptyRiskState();
    let damaged = loaded.kind === 'damaged';
    if (loaded.kind === 'damaged') problems.push(loaded.problem);
    if (loaded.kind === 'loaded') {
      // The checksum proves the bytes; this proves the meaning.
      const parsed = parseRiskState(loaded.value);
      if (parsed.ok) initial = parsed.value;
      else {
        damaged = true;
        problems.push(`risk state: ${parsed.problem}`);
      }
    }
    this.policy = this.newPolicy(initial);
    const untrusted = damaged || this.state.signalLedgerLoad?.trusted === false;
    if (problems.length > 0) this.logger.error({ problems }, 'state under STATE_DIR has problems');
    if (untrusted && !this.policy.isHalted()) {
      const text = `State under ${this.state.stateDir} cannot be trusted; starting halted. ${problems.join('; ')}`;
      this.alerts.send({ kind: 'state_untrusted', text });
      await this.halt('untrusted_state', text, null);
    } else if (this.policy.isHalted()) {
      const halt = this.policy.halt();
      this.logger.warn(
        { halt },
        'starting halted: the latch survived the restart; closing any positions left open',
      );
      if (halt !== null) {
        this.alerts.send({
          kind: 'halt',
          text: `Started halted (halt ${halt.id}, ${halt.source}: ${halt.reason}); closing any positions left open. Resume needs a person.\nLoop ${this.config.loopId}`,
        });
        // The trigger was reported when it happened; after a restart only leftovers are closed.
        this.startClosing(halt, { reportFirstPass: false });
      }
    }
    this.scheduler.addInterval(
      EQUITY_CHECK_INTERVAL,
      setInterval(() => void this.check(), this.config.risk.equityCheckIntervalMs),
    );
    await this.check();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.confirmTimer);
    this.closing?.abort.abort();
    if (this.scheduler.doesExist('interval', EQUITY_CHECK_INTERVAL))
      this.scheduler.deleteInterval(EQUITY_CHECK_INTERVAL);
  }

  isHalted(): boolean {
    return this.policy.isHalted();
  }

  /** A position a halt (or the shutdown close) of this process closed, found by its order's request id. */
  closedPositionWithRequestId(requestId: string): Position | undefined {
    return this.closer.closed.withRequestId(requestId);
  }

  /**
   * Why no position may be opened right now, from what the guard already knows (no broker call):
   * halted, blind (3 failed reads), or the latest read breached a cap, confirmed or not. Asked
   * before every single order, on top of the batch's pre-trade read.
   */
  openBlockedReason(): string | null {
    if (this.policy.isHalted()) return 'halted';
    if (this.reads.blocked) return 'equity_unavailable';
    return this.lastBreach;
  }

  /** One periodic check; overlapping calls share the one in flight. */
  check(): Promise<void> {
    this.checking ??= this.runCheck()
      .catch((error: unknown) => this.logger.error({ err: error }, 'equity check failed'))
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Asked before orders are placed. Refuses on the first breaching read, while halted, or blind. */
  async preTradeCheck(): Promise<PreTradeDecision> {
    if (this.policy.isHalted()) return { allowed: false, reason: 'halted' };
    const account = await this.broker.account();
    const now = this.clock.now();
    let equity: number;
    if (account.ok) {
      equity = account.value.equity;
      if (Number.isFinite(equity) && this.reads.success()) this.announceEquityReadable();
    } else {
      this.noteReadFailure(account.error.message);
      // One failed read is retried by the periodic check; until 3 fail in a row, the last good
      // read (if recent) still answers, so a single blip does not fail a batch of signals.
      const recent =
        this.last.equity !== null &&
        this.last.at !== null &&
        now - this.last.at <= 2 * this.config.risk.equityCheckIntervalMs;
      if (this.reads.blocked || !recent || this.last.equity === null)
        return { allowed: false, reason: 'equity_unavailable' };
      equity = this.last.equity;
    }
    if (this.reads.blocked) return { allowed: false, reason: 'equity_unavailable' };
    const decision = this.policy.preTradeCheck(equity, now);
    if (decision.allowed) return { allowed: true };
    if (decision.reason === 'drawdown_cap' || decision.reason === 'daily_cap') void this.check(); // confirm quickly
    return { allowed: false, reason: decision.reason };
  }

  /** Manual kill switch (API, Telegram): same as a cap trigger. */
  async manualHalt(reason: string, by: string): Promise<{ alreadyHalted: boolean; halt: HaltRecord }> {
    const existing = this.policy.halt();
    if (existing !== null) return { alreadyHalted: true, halt: existing };
    const halt = await this.halt('manual', `${reason} (by ${by})`, this.last.drawdown);
    return { alreadyHalted: false, halt };
  }

  async resume(reviewedBy: string, note: string): Promise<ResumeResult> {
    const halt = this.policy.halt();
    if (halt === null) return { ok: false, code: 'not_halted', message: 'trading is not halted' };
    const account = await this.broker.account();
    if (!account.ok || !Number.isFinite(account.value.equity) || account.value.equity <= 0) {
      return {
        ok: false,
        code: 'equity_unavailable',
        message: 'cannot re-baseline: equity could not be read',
      };
    }
    const now = this.clock.now();
    const previous = this.policy.state();
    const resumed = this.policy.resume(account.value.equity, now, reviewedBy, note);
    if (!resumed.ok)
      return {
        ok: false,
        code: resumed.code === 'not_halted' ? 'not_halted' : 'equity_unavailable',
        message: resumed.message,
      };
    try {
      await this.state.saveRiskState(this.policy.state());
    } catch (error) {
      // Never run on a resume the disk does not remember: restore the latch.
      this.policy = this.newPolicy(previous);
      this.logger.error({ err: error }, 'resume not persisted; still halted');
      return { ok: false, code: 'persist_failed', message: `could not persist the resume: ${String(error)}` };
    }
    this.closing?.abort.abort();
    this.closing = undefined;
    this.unpersisted = false;
    this.lastBreach = null;
    this.reads.reset();
    this.last = {
      ...this.last,
      equity: account.value.equity,
      baseline: account.value.equity,
      drawdown: 0,
      daily: 0,
    };
    await this.audit({
      at: now,
      action: 'resume',
      halt_id: halt.id,
      reviewed_by: reviewedBy,
      note,
      baseline_equity: roundMoney(account.value.equity),
    });
    this.events.publish('resumed', {
      halt_id: halt.id,
      reviewed_by: reviewedBy,
      note,
      baseline_equity: roundMoney(account.value.equity),
    });
    this.alerts.send({
      kind: 'resume',
      text: `Trading resumed by ${reviewedBy}: ${note}\nBaseline equity ${account.value.equity.toFixed(2)}; loop ${this.config.loopId}`,
    });
    return { ok: true, baselineEquity: account.value.equity };
  }

  /**
   * Close everything now (graceful stop with CLOSE_ON_SHUTDOWN), bounded by `deadlineMs`. A halt's
   * close-all still running is ended first, so two runs never race on the same tickets.
   */
  async closeAllForShutdown(deadlineMs: number): Promise<CloseAllReport> {
    const running = this.closing;
    if (running !== undefined) {
      running.abort.abort();
      await running.done.catch(() => undefined); // its failures are logged where it runs
    }
    return this.closer.closeAll(`shutdown-${this.config.loopId}-${this.clock.now()}`, {
      keepTrying: false,
      deadlineMs,
    });
  }

  snapshot(): GuardSnapshot {
    return {
      halted: this.policy.isHalted(),
      halt: this.policy.halt(),
      equity: roundMoneyOrNull(this.last.equity),
      baselineEquity: roundMoneyOrNull(this.last.baseline ?? this.policy.state().baselineEquity),
      drawdownPercent: roundPercentOrNull(this.last.drawdown),
      dailyDrawdownPercent: roundPercentOrNull(this.last.daily),
      capPercent: this.config.risk.drawdownCapPercent,
      openPositions: this.last.positions,
      equityReadsBlocked: this.reads.blocked,
      closingInProgress: this.closing !== undefined,
    };
  }

  private async runCheck(): Promise<void> {
    if (this.stopped) return;
    if (this.unpersisted) await this.persist();
    const [account, positions] = await Promise.all([this.broker.account(), this.broker.positions()]);
    const now = this.clock.now();
    if (positions.ok) {
      this.last.positions = positions.value.length;
      this.closedPositions.observe(positions.value);
    }
    // Safety net: while halted nothing may stay open, whatever opened it (an order in flight when
    // the latch was set, a position opened by hand in the terminal).
    const halt = this.policy.halt();
    if (halt !== null && positions.ok && positions.value.length > 0 && this.closing === undefined) {
      this.logger.warn(
        { halt_id: halt.id, open: positions.value.length },
        'positions open while halted; closing them',
      );
      this.startClosing(halt, { reportFirstPass: false });
    }
    if (!account.ok) return this.noteReadFailure(account.error.message);
    const observation = this.policy.observe(account.value.equity, now);
    if (observation.kind === 'invalid_read')
      return this.noteReadFailure(`equity is not a finite number: ${String(account.value.equity)}`);
    if (this.reads.success()) this.announceEquityReadable();
    this.last = {
      equity: account.value.equity,
      drawdown: observation.drawdownPercent,
      daily: observation.dailyDrawdownPercent,
      baseline: observation.baselineEquity,
      positions: this.last.positions,
      at: now,
    };
    this.events.publish('equity_sample', {
      equity: roundMoney(account.value.equity),
      baseline_equity: roundMoneyOrNull(observation.baselineEquity),
      drawdown_percent: roundPercent(observation.drawdownPercent),
    });
    if (observation.stateChanged) await this.persist();
    if (observation.warning !== null) {
      const w = observation.warning;
      this.events.publish('drawdown_warning', {
        drawdown_percent: roundPercent(w.drawdownPercent),
        cap_percent: w.capPercent,
        cap: w.cap,
      });
      this.alerts.send({
        kind: 'drawdown_warning',
        text: `Drawdown warning: ${w.drawdownPercent.toFixed(1)}% of ${w.cap === 'daily' ? 'daily cap' : 'cap'} ${formatPercent(w.capPercent)}%\nLoop ${this.config.loopId}; equity ${account.value.equity.toFixed(2)}`,
      });
    }
    this.lastBreach =
      observation.breach === null ? null : observation.breach.cap === 'daily' ? 'daily_cap' : 'drawdown_cap';
    if (observation.breach !== null && observation.trigger === null && !observation.halted) {
      // Unconfirmed breach: take the confirming read soon instead of a whole interval later.
      this.scheduleConfirmingRead();
    }
    if (observation.trigger !== null) {
      const t = observation.trigger;
      await this.halt(
        t.cap === 'daily' ? 'daily_cap' : 'drawdown_cap',
        `${t.cap} drawdown ${t.drawdownPercent.toFixed(1)}% >= cap ${formatPercent(t.capPercent)}%`,
        t.drawdownPercent,
        t.capPercent,
      );
    }
  }

  private scheduleConfirmingRead(): void {
    if (this.confirmTimer !== undefined || this.stopped) return;
    const delay = Math.min(CONFIRM_READ_DELAY_MS, this.config.risk.equityCheckIntervalMs);
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = undefined;
      void this.check();
    }, delay);
  }

  private announceEquityReadable(): void {
    this.alerts.send({
      kind: 'equity_unavailable',
      text: `Equity readable again; opening positions allowed. Loop ${this.config.loopId}`,
    });
  }

  private noteReadFailure(message: string): void {
    if (this.reads.failure()) {
      this.alerts.send({
        kind: 'equity_unavailable',
        text: `Equity unreadable ${this.reads.consecutiveFailures} times in a row; no new positions until it reads again.\n${message}\nLoop ${this.config.loopId}`,
      });
    }
    this.events.publish('equity_read_failed', {
      consecutive_failures: this.reads.consecutiveFailures,
      error: message,
    });
  }

  /**
   * The trigger sequence (docs/risk.md): 1. latch and persist (fsync) before anything else;
   * 2. close every position, re-reading until none is left; 3. report and alert; 4. audit.
   */
  private async halt(
    source: HaltSource,
    reason: string,
    drawdownPercent: number | null,
    capPercent: number | null = null,
  ): Promise<HaltRecord> {
    const record: HaltRecord = {
      id: randomUUID(),
      reason,
      source,
      at: this.clock.now(),
      drawdownPercent: roundPercentOrNull(drawdownPercent),
      capPercent,
    };
    this.policy.latchHalt(record);
    const halt = this.policy.halt() ?? record;
    await this.persist();
    // A resume may have come in during the sync: then this halt is over and must not close anything.
    if (this.policy.halt()?.id !== halt.id) return halt;
    await this.audit({
      at: halt.at,
      action: 'halt',
      halt_id: halt.id,
      source,
      reason,
      drawdown_percent: halt.drawdownPercent,
      cap_percent: capPercent,
    });
    this.events.publish('halted', {
      halt_id: halt.id,
      reason,
      source,
      drawdown_percent: halt.drawdownPercent,
    });
    if (this.policy.halt()?.id === halt.id) this.startClosing(halt, { reportFirstPass: true });
    return halt;
  }

  private startClosing(halt: HaltRecord, options: { reportFirstPass: boolean }): void {
    if (this.closing !== undefined) return;
    const abort = new AbortController();
    const done = this.closer.closeAll(halt.id, {
      keepTrying: true,
      signal: abort.signal,
      ...(options.reportFirstPass
        ? { onFirstPass: (report: CloseAllReport) => void this.reportTrigger(halt, report) }
        : {}),
    });
    const closing = { done, abort };
    this.closing = closing;
    void done
      .then(async (report) => {
        if (abort.signal.aborted) return; // resumed or stopping: this run is over, say nothing
        if (report.remaining === 0 && report.retried) {
          this.alerts.send({
            kind: 'close_failures',
            text: `All positions closed after ${report.rounds} rounds (halt ${halt.id}); ${report.closed} closed in all.`,
          });
          await this.audit({
            at: this.clock.now(),
            action: 'close_all_done',
            halt_id: halt.id,
            closed: report.closed,
            rounds: report.rounds,
          });
        }
      })
      .catch((error: unknown) =>
        this.logger.error({ err: error, halt_id: halt.id }, 'closing positions after a halt failed'),
      )
      .finally(() => {
        if (this.closing === closing) this.closing = undefined;
      });
  }

  /** Step 3 and 4, after the first pass over the positions: honest counts, never success early. */
  private async reportTrigger(halt: HaltRecord, report: CloseAllReport): Promise<void> {
    const isCap = halt.source === 'drawdown_cap' || halt.source === 'daily_cap';
    const drawdown = halt.drawdownPercent ?? this.last.drawdown ?? 0;
    const cap = halt.capPercent ?? this.config.risk.drawdownCapPercent;
    const text = isCap
      ? capTriggerAlertText({
          drawdownPercent: drawdown,
          capPercent: cap,
          daily: halt.source === 'daily_cap',
          report,
          loopId: this.config.loopId,
          equity: this.last.equity,
          baseline: this.last.baseline,
        })
      : `Trading halted (${halt.source}): ${halt.reason}; closed ${report.closed} positions${report.failed > 0 ? `, ${report.failed} failed to close (still trying)` : ''}\nLoop ${this.config.loopId}`;
    this.events.publish('drawdown_cap_triggered', {
      halt_id: halt.id,
      reason: halt.reason,
      cap: halt.source === 'daily_cap' ? 'daily' : halt.source === 'drawdown_cap' ? 'total' : halt.source,
      drawdown_percent: roundPercent(drawdown),
      cap_percent: cap,
      equity: roundMoneyOrNull(this.last.equity),
      baseline_equity: roundMoneyOrNull(this.last.baseline),
      positions_closed: report.closed,
      positions_failed: report.failed,
      message: text.split('\n')[0],
    });
    this.alerts.send({ kind: isCap ? 'drawdown_cap' : 'halt', text });
    await this.audit({
      at: this.clock.now(),
      action: isCap ? 'cap_triggered' : 'halt_closed',
      halt_id: halt.id,
      positions_closed: report.closed,
      positions_failed: report.failed,
      failures: report.failures,
    });
  }

  private async persist(): Promise<void> {
    try {
      await this.state.saveRiskState(this.policy.state());
      if (this.unpersisted) this.logger.warn('risk state persisted again after an earlier failure');
      this.unpersisted = false;
    } catch (error) {
      // The latch still holds in memory; say loudly (once per outage) that the disk does not
      // have it, and retry on every check until it does.
      this.logger.error(
        { err: error },
        'could not persist risk state (halt latch/baselines); retrying every check',
      );
      if (!this.unpersisted) {
        this.alerts.send({
          kind: 'state_untrusted',
          text: `Could not persist risk state under ${this.state.stateDir}: ${String(error)}. Retrying every check; a restart now would not remember the latest halt or baseline.`,
        });
      }
      this.unpersisted = true;
    }
  }

  private async audit(entry: { at: number; action: string; [key: string]: unknown }): Promise<void> {
    try {
      await this.state.audit.append(entry);
    } catch (error) {
      this.logger.error({ err: error, entry }, 'could not append to the audit log');
    }
  }

  private newPolicy(initial: RiskState): DrawdownPolicy {
    const r = this.config.risk;
    return new DrawdownPolicy(
      {
        capPercent: r.drawdownCapPercent,
        baselineMode: r.baselineMode,
        ...(r.dailyLossCapPercent === undefined ? {} : { dailyLossCapPercent: r.dailyLossCapPercent }),
        dailyResetTimezone: r.dailyResetTimezone,
        warnRatio: r.warnRatio,
        confirmReads: r.confirmReads,
      },
      initial,
    );
  }
}
