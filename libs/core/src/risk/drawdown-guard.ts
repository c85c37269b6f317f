import { randomUUID } from 'node:crypto';
import type { AlertSink } from '../alerts/alert';
import type { BrokerGateway } from '../broker/broker-gateway.port';
import type { Position } from '../broker/broker-types';
import type { EventSink } from '../events/event-sink.port';
import type { CoreLogger } from '../logging/core-logger.port';
import { roundMoney, roundMoneyOrNull, roundPercent, roundPercentOrNull } from '../numbers/output-precision';
import { ClosedPositionReporter } from '../positions/closed-position-reporter';
import type { AuditEntry, AuditLog } from '../state/audit-log.port';
import type { RiskStateLoad, RiskStateStore } from '../state/risk-state-store.port';
import type { Clock } from '../time/clock';
import type { Cancel, Scheduler } from '../time/scheduler';
import { CloseAllPositions, type CloseAllReport } from './close-all-positions';
import { capTriggerAlertText, formatPercent } from './drawdown-alert-text';
import { DrawdownPolicy, type DrawdownPolicyOptions } from './drawdown-policy';
import { EquityReadTracker } from './equity-read-tracker';
import { HaltSequence, type HaltEffect } from './halt-sequence';
import {
  emptyRiskState,
  parseRiskState,
  type HaltRecord,
  type HaltSource,
  type RiskState,
} from './risk-state';
import { openRefusal, tradingState, type OpenRefusal, type TradingState } from './trading-state';

/** After an unconfirmed breach, the next read comes this soon (or at the interval, if shorter). */
const CONFIRM_READ_DELAY_MS = 100;
/** Failed equity reads in a row after which the account is blind (docs/risk.md). */
const BLIND_AFTER_FAILURES = 3;

export interface DrawdownGuardSettings extends DrawdownPolicyOptions {
  equityCheckIntervalMs: number;
  /** The service's magic number: its own positions are watched for closes it did not make. */
  magic: number;
  /** Names the loop in alert texts. */
  loopId: string;
}

export interface DrawdownGuardPorts {
  broker: BrokerGateway;
  riskState: RiskStateStore;
  audit: AuditLog;
  events: EventSink;
  alerts: AlertSink;
  scheduler: Scheduler;
  clock: Clock;
  logger: CoreLogger;
  /** Whether the process is stopping (or no longer owns the account): nothing new opens. */
  stopping: () => boolean;
}

/** What the guard needs to know at start besides the risk state. */
export interface GuardStartup {
  riskState: RiskStateLoad;
  /** Problems found loading the other state (the signal ledger, the audit log). */
  problems: readonly string[];
  /** False when the signal ledger is damaged: duplicates could not be ruled out. */
  ledgerTrusted: boolean;
  /** Where the state lives, for alert texts ("State under /data ..."). */
  where: string;
}

/** `equity`: what the check read (order sizing in `risk_percent` mode uses it). */
export type PreTradeDecision = { allowed: true; equity: number } | { allowed: false; reason: string };

export type ResumeResult =
  | { ok: true; baselineEquity: number }
  | { ok: false; code: 'not_halted' | 'equity_unavailable' | 'persist_failed'; message: string };

/** What status, heartbeat and metrics show of the guard (money and percentages rounded). */
export interface GuardSnapshot {
  state: TradingState;
  halted: boolean;
  halt: HaltRecord | null;
  equity: number | null;
  baselineEquity: number | null;
  drawdownPercent: number | null;
  dailyDrawdownPercent: number | null;
  capPercent: number;
  dailyCapPercent: number | null;
  openPositions: number | null;
  equityReadsBlocked: boolean;
  closingInProgress: boolean;
  /** When the last equity check completed (a pass of this account's work, for staleness). */
  lastCheckAt: number | null;
}

/**
 * The drawdown guard of one account (docs/risk.md): it reads equity every
 * EQUITY_CHECK_INTERVAL_MS whether or not signals arrive, answers the pre-trade check, keeps the
 * trading state every order asks, and runs the halt sequence (HaltSequence) and the close-all
 * through ports. The rules are the pure DrawdownPolicy's; this class only connects them to I/O.
 */
export class DrawdownGuard {
  private policy: DrawdownPolicy;
  private readonly reads = new EquityReadTracker(BLIND_AFTER_FAILURES);
  private readonly closer: CloseAllPositions;
  /** `position_closed`: the service's positions that a stop, a stop-out or a person closed. */
  readonly closedPositions: ClosedPositionReporter;
  private last = {
    equity: null as number | null,
    drawdown: null as number | null,
    daily: null as number | null,
    baseline: null as number | null,
    positions: null as number | null,
    at: null as number | null,
  };
  private checking: Promise<void> | undefined;
  private closing: { done: Promise<CloseAllReport>; abort: AbortController; haltId: string } | undefined;
  private sequence: HaltSequence | undefined;
  /** The latch or baselines changed but did not reach the disk: retried on every check. */
  private unpersisted = false;
  /** The cap the latest periodic read breached (not yet confirmed), if any. */
  private lastBreach: 'drawdown_cap' | 'daily_cap' | null = null;
  private stopped = false;
  private haltsLatched = 0;
  /**
   * Writes of the risk state, one after the other, each taking the state as it stands when its
   * turn comes: a write queued before a resume can never put the latch back on disk after it.
   */
  private writing: Promise<void> = Promise.resolve();
  private cancelInterval: Cancel | undefined;
  private cancelConfirm: Cancel | undefined;

  constructor(
    private readonly settings: DrawdownGuardSettings,
    private readonly ports: DrawdownGuardPorts,
  ) {
    this.policy = new DrawdownPolicy(settings, emptyRiskState());
    this.closer = new CloseAllPositions(ports.broker, ports.clock, ports.logger, {
      sleep: (ms) => ports.scheduler.sleep(ms),
    });
    this.closedPositions = new ClosedPositionReporter(
      ports.broker,
      settings.magic,
      ports.events,
      ports.alerts,
      ports.logger,
      (position) => this.closer.closed.closedByUs(position.comment),
      settings.loopId,
    );
  }

  /** Load the latch and baselines, then read the equity once, before anything trades. */
  async start(startup: GuardStartup): Promise<void> {
    await this.load(startup);
    await this.firstCheck();
  }

  /**
   * Load the latch and baselines; untrusted state starts halted. Touches only the state store, so
   * once it is done everyone knows whether the account is halted, whatever its broker does.
   */
  async load(startup: GuardStartup): Promise<void> {
    const problems = [...startup.problems];
    let initial = emptyRiskState();
    let damaged = false;
    if (startup.riskState.kind === 'damaged') {
      damaged = true;
      problems.push(startup.riskState.problem);
    } else if (startup.riskState.kind === 'loaded') {
      // The checksum proves the bytes; this proves the meaning.
      const parsed = parseRiskState(startup.riskState.value);
      if (parsed.ok) initial = parsed.value;
      else {
        damaged = true;
        problems.push(`risk state: ${parsed.problem}`);
      }
    }
    this.policy = new DrawdownPolicy(this.settings, initial);
    if (problems.length > 0) this.ports.logger.error({ problems }, 'state has problems');
    const halt = this.policy.halt();
    if ((damaged || !startup.ledgerTrusted) && halt === null) {
      const text = `State under ${startup.where} cannot be trusted; starting halted. ${problems.join('; ')}`;
      this.ports.alerts.send({ kind: 'state_untrusted', text });
      await this.halt('untrusted_state', text, null);
    } else if (halt !== null) {
      this.ports.logger.warn(
        { halt },
        'starting halted: the latch survived the restart; continuing its sequence',
      );
      this.haltsLatched++;
      const { sequence, effects } = HaltSequence.restore(halt, this.ports.clock.now());
      this.sequence = sequence;
      await this.apply(sequence, effects);
    }
    if (this.stopped) return;
    this.cancelInterval = this.ports.scheduler.every(
      this.settings.equityCheckIntervalMs,
      () => void this.check(),
    );
  }

  /** The first equity reading after `load`: a breach during the downtime is caught before any order. */
  async firstCheck(): Promise<void> {
    if (this.stopped) return;
    await this.check();
  }

  stop(): void {
    this.stopped = true;
    this.cancelInterval?.();
    this.cancelConfirm?.();
    this.closing?.abort.abort();
  }

  isHalted(): boolean {
    return this.policy.isHalted();
  }

  /**
   * How many halts this runtime has latched, a latch found at start counting as one. A signal
   * queued before the latest of them came in before a halt, and is never sent, even after a
   * resume (docs/risk.md, Signals while halted).
   */
  haltCount(): number {
    return this.haltsLatched;
  }

  /** The account's trading state, from what the guard already knows (no broker call). */
  tradingState(): TradingState {
    return tradingState(this.stateInputs());
  }

  /**
   * Why no position may open right now (null: it may), asked before every single order, on top of
   * the batch's pre-trade read: the one place that decides it.
   */
  openRefusal(): OpenRefusal | null {
    return openRefusal(this.stateInputs());
  }

  /** A position the service's own order opened: watched for a close the service does not make. */
  noteOpened(position: Position): void {
    this.closedPositions.track(position);
  }

  /** A position a close signal closed (`byUs`), or found already gone when its close came. */
  noteClosed(position: Position, byUs: boolean): void {
    this.closer.closed.add(position, byUs);
  }

  /** A position a halt (or the shutdown close) of this process closed, found by its order's request id. */
  closedPositionWithRequestId(requestId: string): Position | undefined {
    return this.closer.closed.withRequestId(requestId);
  }

  /** One periodic check; overlapping calls share the one in flight. */
  check(): Promise<void> {
    this.checking ??= this.runCheck()
      .catch((error: unknown) => this.ports.logger.error({ err: error }, 'equity check failed'))
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Asked before a batch of orders. Refuses on the first breaching read, while halted, or blind. */
  async preTradeCheck(): Promise<PreTradeDecision> {
    if (this.policy.isHalted()) return { allowed: false, reason: 'halted' };
    const account = await this.ports.broker.account();
    const now = this.ports.clock.now();
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
        now - this.last.at <= 2 * this.settings.equityCheckIntervalMs;
      if (this.reads.blocked || !recent || this.last.equity === null)
        return { allowed: false, reason: 'equity_unavailable' };
      equity = this.last.equity;
    }
    if (this.reads.blocked) return { allowed: false, reason: 'equity_unavailable' };
    const decision = this.policy.preTradeCheck(equity, now);
    if (decision.allowed) return { allowed: true, equity };
    if (decision.reason === 'drawdown_cap' || decision.reason === 'daily_cap') void this.check(); // confirm quickly
    return { allowed: false, reason: decision.reason };
  }

  /**
   * Manual kill switch (API, Telegram): the same sequence as a cap trigger. `all`: the platform
   * kill switch halted every account; the latch says so, so a bulk resume may lift only it. An
   * account already halted stays halted for its own reason.
   */
  async manualHalt(
    reason: string,
    by: string,
    scope: 'account' | 'all' = 'account',
  ): Promise<{ alreadyHalted: boolean; halt: HaltRecord }> {
    const existing = this.policy.halt();
    if (existing !== null) return { alreadyHalted: true, halt: existing };
    const halt = await this.halt('manual', `${reason} (by ${by})`, this.last.drawdown, scope);
    return { alreadyHalted: false, halt };
  }

  /**
   * A person resumes: re-baseline to the current equity. The new state is made durable first and
   * only then applied, so until the disk has the resume the latch still holds (no order can pass),
   * and a resume the disk refused changes nothing.
   */
  async resume(reviewedBy: string, note: string): Promise<ResumeResult> {
    const halt = this.policy.halt();
    if (halt === null) return { ok: false, code: 'not_halted', message: 'trading is not halted' };
    const account = await this.ports.broker.account();
    if (!account.ok || !Number.isFinite(account.value.equity) || account.value.equity <= 0)
      return {
        ok: false,
        code: 'equity_unavailable',
        message: 'cannot re-baseline: equity could not be read',
      };
    const now = this.ports.clock.now();
    const planned = this.policy.planResume(account.value.equity, now, reviewedBy, note);
    if (!planned.ok)
      return {
        ok: false,
        code: planned.code === 'not_halted' ? 'not_halted' : 'equity_unavailable',
        message: planned.message,
      };
    let committed = false;
    try {
      // Applied in the same turn the write lands: the next queued write already sees it.
      await this.writeRiskState(
        () => planned.state,
        () => {
          committed = this.policy.commitResume(planned);
          if (!committed) return;
          this.sequence?.onResumed();
          this.sequence = undefined;
          this.closing?.abort.abort();
          this.closing = undefined;
        },
      );
    } catch (error) {
      this.ports.logger.error({ err: error }, 'resume not persisted; still halted');
      return { ok: false, code: 'persist_failed', message: `could not persist the resume: ${String(error)}` };
    }
    if (!committed)
      return { ok: false, code: 'not_halted', message: 'the halt changed while the resume was saved' };
    this.unpersisted = false;
    this.lastBreach = null;
    this.reads.reset();
    const equity = account.value.equity;
    this.last = { ...this.last, equity, baseline: equity, drawdown: 0, daily: 0 };
    await this.audit({
      at: now,
      action: 'resume',
      halt_id: halt.id,
      reviewed_by: reviewedBy,
      note,
      baseline_equity: roundMoney(equity),
    });
    this.ports.events.publish('resumed', {
      halt_id: halt.id,
      reviewed_by: reviewedBy,
      note,
      baseline_equity: roundMoney(equity),
    });
    this.ports.alerts.send({
      kind: 'resume',
      text: `Trading resumed by ${reviewedBy}: ${note}\nBaseline equity ${equity.toFixed(2)}; loop ${this.settings.loopId}`,
    });
    return { ok: true, baselineEquity: equity };
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
    return this.closer.closeAll(`shutdown-${this.settings.loopId}-${this.ports.clock.now()}`, {
      keepTrying: false,
      deadlineMs,
    });
  }

  snapshot(): GuardSnapshot {
    return {
      state: this.tradingState(),
      halted: this.policy.isHalted(),
      halt: this.policy.halt(),
      equity: roundMoneyOrNull(this.last.equity),
      baselineEquity: roundMoneyOrNull(this.last.baseline ?? this.policy.state().baselineEquity),
      drawdownPercent: roundPercentOrNull(this.last.drawdown),
      dailyDrawdownPercent: roundPercentOrNull(this.last.daily),
      capPercent: this.settings.capPercent,
      dailyCapPercent: this.settings.dailyLossCapPercent ?? null,
      openPositions: this.last.positions,
      equityReadsBlocked: this.reads.blocked,
      closingInProgress: this.closing !== undefined,
      lastCheckAt: this.last.at,
    };
  }

  private stateInputs() {
    return {
      halted: this.policy.isHalted(),
      stopping: this.ports.stopping(),
      blind: this.reads.blocked,
      breach: this.lastBreach,
    };
  }

  private async runCheck(): Promise<void> {
    if (this.stopped) return;
    if (this.unpersisted) await this.persist();
    const [account, positions] = await Promise.all([
      this.ports.broker.account(),
      this.ports.broker.positions(),
    ]);
    const now = this.ports.clock.now();
    if (positions.ok) {
      this.last.positions = positions.value.length;
      this.closedPositions.observe(positions.value);
      // Safety net: while halted nothing may stay open, whatever opened it (an order in flight when
      // the latch was set, a position opened by hand in the terminal).
      if (this.sequence !== undefined && positions.value.length > 0 && this.closing === undefined) {
        this.ports.logger.warn(
          { halt_id: this.sequence.record.id, open: positions.value.length },
          'positions open while halted; closing them',
        );
        await this.apply(this.sequence, this.sequence.onLeftovers());
      }
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
    this.ports.events.publish('equity_sample', {
      equity: roundMoney(account.value.equity),
      baseline_equity: roundMoneyOrNull(observation.baselineEquity),
      drawdown_percent: roundPercent(observation.drawdownPercent),
    });
    if (observation.stateChanged && observation.trigger === null) await this.persist();
    if (observation.warning !== null) {
      const w = observation.warning;
      this.ports.events.publish('drawdown_warning', {
        drawdown_percent: roundPercent(w.drawdownPercent),
        cap_percent: w.capPercent,
        cap: w.cap,
      });
      this.ports.alerts.send({
        kind: 'drawdown_warning',
        text: `Drawdown warning: ${w.drawdownPercent.toFixed(1)}% of ${w.cap === 'daily' ? 'daily cap' : 'cap'} ${formatPercent(w.capPercent)}%\nLoop ${this.settings.loopId}; equity ${account.value.equity.toFixed(2)}`,
      });
    }
    this.lastBreach =
      observation.breach === null ? null : observation.breach.cap === 'daily' ? 'daily_cap' : 'drawdown_cap';
    // Unconfirmed breach: take the confirming read soon instead of a whole interval later.
    if (observation.breach !== null && observation.trigger === null && !observation.halted)
      this.scheduleConfirmingRead();
    const latched = this.policy.halt();
    if (observation.trigger !== null && latched !== null) await this.runSequence(HaltSequence.begin(latched));
  }

  private scheduleConfirmingRead(): void {
    if (this.cancelConfirm !== undefined || this.stopped) return;
    const delay = Math.min(CONFIRM_READ_DELAY_MS, this.settings.equityCheckIntervalMs);
    this.cancelConfirm = this.ports.scheduler.after(delay, () => {
      this.cancelConfirm = undefined;
      void this.check();
    });
  }

  private announceEquityReadable(): void {
    this.ports.alerts.send({
      kind: 'equity_unavailable',
      text: `Equity readable again; opening positions allowed. Loop ${this.settings.loopId}`,
    });
  }

  private noteReadFailure(message: string): void {
    if (this.reads.failure()) {
      this.ports.alerts.send({
        kind: 'equity_unavailable',
        text: `Equity unreadable ${this.reads.consecutiveFailures} times in a row; no new positions until it reads again.\n${message}\nLoop ${this.settings.loopId}`,
      });
    }
    this.ports.events.publish('equity_read_failed', {
      consecutive_failures: this.reads.consecutiveFailures,
      error: message,
    });
  }

  /** A halt other than a confirmed cap breach (the policy latches those itself): latch, then the sequence. */
  private async halt(
    source: HaltSource,
    reason: string,
    drawdownPercent: number | null,
    scope: 'account' | 'all' = 'account',
  ): Promise<HaltRecord> {
    this.policy.latchHalt({
      id: randomUUID(),
      reason,
      source,
      at: this.ports.clock.now(),
      drawdownPercent: roundPercentOrNull(drawdownPercent),
      capPercent: null,
      ...(scope === 'all' ? { scope: 'all' as const } : {}),
    });
    const latched = this.policy.halt();
    if (latched === null) throw new Error('the latch did not hold');
    this.haltsLatched++;
    await this.runSequence(HaltSequence.begin(latched));
    return this.policy.halt() ?? latched;
  }

  /** Step 1 of every halt: the latch reaches the disk before anything else happens. */
  private async runSequence(begun: { sequence: HaltSequence; effects: HaltEffect[] }): Promise<void> {
    this.sequence = begun.sequence;
    await this.apply(begun.sequence, begun.effects);
    await this.apply(begun.sequence, begun.sequence.onLatchPersisted(this.ports.clock.now()));
  }

  /**
   * Carries out what the halt sequence asks, in order. A resume ends the sequence at once: what it
   * had not done yet (closing, reporting) is not done, since the account trades again.
   */
  private async apply(sequence: HaltSequence, effects: HaltEffect[]): Promise<void> {
    for (const effect of effects) {
      if (sequence.over) return;
      switch (effect.kind) {
        case 'persist':
          this.policy.updateHalt(effect.halt);
          await this.persist();
          break;
        case 'announce': {
          const h = effect.halt;
          await this.audit({
            at: h.at,
            action: 'halt',
            halt_id: h.id,
            source: h.source,
            reason: h.reason,
            drawdown_percent: h.drawdownPercent,
            cap_percent: h.capPercent,
          });
          this.ports.events.publish('halted', {
            halt_id: h.id,
            reason: h.reason,
            source: h.source,
            drawdown_percent: h.drawdownPercent,
          });
          break;
        }
        case 'close_all':
          this.startClosing(effect.halt, effect.reportFirstPass);
          break;
        case 'report':
          await this.reportTrigger(effect.halt, effect.report);
          break;
        case 'all_closed':
          this.ports.alerts.send({
            kind: 'close_failures',
            text: `All positions closed after ${effect.report.rounds} rounds (halt ${effect.halt.id}); ${effect.report.closed} closed in all.`,
          });
          await this.audit({
            at: this.ports.clock.now(),
            action: 'close_all_done',
            halt_id: effect.halt.id,
            closed: effect.report.closed,
            rounds: effect.report.rounds,
          });
          break;
        case 'started_halted':
          this.ports.alerts.send({
            kind: 'halt',
            text: `Started halted (halt ${effect.halt.id}, ${effect.halt.source}: ${effect.halt.reason}); closing any positions left open. Resume needs a person.\nLoop ${this.settings.loopId}`,
          });
          break;
      }
    }
  }

  private startClosing(halt: HaltRecord, reportFirstPass: boolean): void {
    if (this.closing !== undefined || this.stopped) return;
    const sequence = this.sequence;
    const abort = new AbortController();
    const done = this.closer.closeAll(halt.id, {
      keepTrying: true,
      signal: abort.signal,
      ...(reportFirstPass && sequence !== undefined
        ? {
            onFirstPass: (report: CloseAllReport) =>
              void this.apply(sequence, sequence.onFirstPass(report, this.ports.clock.now())).catch(
                (error: unknown) =>
                  this.ports.logger.error({ err: error, halt_id: halt.id }, 'reporting a halt failed'),
              ),
          }
        : {}),
    });
    const closing = { done, abort, haltId: halt.id };
    this.closing = closing;
    void done
      .then(async (report) => {
        if (abort.signal.aborted || sequence === undefined) return; // resumed or stopping: say nothing
        if (report.remaining === 0) await this.apply(sequence, sequence.onFlat(report));
      })
      .catch((error: unknown) =>
        this.ports.logger.error({ err: error, halt_id: halt.id }, 'closing positions after a halt failed'),
      )
      .finally(() => {
        if (this.closing === closing) this.closing = undefined;
      });
  }

  /** Step 3 and 4, after the first pass over the positions: honest counts, never success early. */
  private async reportTrigger(halt: HaltRecord, report: CloseAllReport): Promise<void> {
    const isCap = halt.source === 'drawdown_cap' || halt.source === 'daily_cap';
    const drawdown = halt.drawdownPercent ?? this.last.drawdown ?? 0;
    const cap = halt.capPercent ?? this.settings.capPercent;
    const text = isCap
      ? capTriggerAlertText({
          drawdownPercent: drawdown,
          capPercent: cap,
          daily: halt.source === 'daily_cap',
          report,
          loopId: this.settings.loopId,
          equity: this.last.equity,
          baseline: this.last.baseline,
        })
      : `Trading halted (${halt.source}): ${halt.reason}; closed ${report.closed} positions${report.failed > 0 ? `, ${report.failed} failed to close (still trying)` : ''}\nLoop ${this.settings.loopId}`;
    this.ports.events.publish('drawdown_cap_triggered', {
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
    this.ports.alerts.send({ kind: isCap ? 'drawdown_cap' : 'halt', text });
    await this.audit({
      at: this.ports.clock.now(),
      action: isCap ? 'cap_triggered' : 'halt_closed',
      halt_id: halt.id,
      positions_closed: report.closed,
      positions_failed: report.failed,
      failures: report.failures,
    });
  }

  /** Queues a write of the risk state; `landed` runs right after it is durable, before the next write. */
  private writeRiskState(state: () => RiskState, landed?: () => void): Promise<void> {
    const write = this.writing.then(async () => {
      await this.ports.riskState.save(state());
      landed?.();
    });
    this.writing = write.catch(() => undefined);
    return write;
  }

  private async persist(): Promise<void> {
    try {
      await this.writeRiskState(() => this.policy.state());
      if (this.unpersisted) this.ports.logger.warn({}, 'risk state persisted again after an earlier failure');
      this.unpersisted = false;
    } catch (error) {
      // The latch still holds in memory; say loudly (once per outage) that the disk does not
      // have it, and retry on every check until it does.
      this.ports.logger.error(
        { err: error },
        'could not persist risk state (halt latch/baselines); retrying every check',
      );
      if (!this.unpersisted)
        this.ports.alerts.send({
          kind: 'state_untrusted',
          text: `Could not persist risk state: ${String(error)}. Retrying every check; a restart now would not remember the latest halt or baseline.`,
        });
      this.unpersisted = true;
    }
  }

  private async audit(entry: AuditEntry): Promise<void> {
    try {
      await this.ports.audit.append(entry);
    } catch (error) {
      this.ports.logger.error({ err: error, entry }, 'could not append to the audit log');
    }
  }

  /** The risk state as it stands (tests). */
  riskState(): RiskState {
    return this.policy.state();
  }
}
