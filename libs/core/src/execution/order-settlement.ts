import type { BrokerError, BrokerResult } from '../broker/broker-error';
import type { Position, TradeResult } from '../broker/broker-types';
import { classifyRetcode, retcodeName } from '../broker/retcodes';
import { backoffDelay, type Backoff } from '../time/backoff';
import type { OpenRefusal } from '../risk/trading-state';
import type { OrderOutcome } from './order-executor';
import { positionWithRequestId } from './order-executor';

/** Admission's answer when a shared account may not trade this instant but is still held here. */
export const LEASE_LAPSED = 'lease_lapsed';
/** Longest wait between admissions while the lease is lapsed. */
const LEASE_LAPSE_MAX_WAIT_MS = 500;

/**
 * How one open order of a signal ends, as a pure state machine (docs/service.md, Lost broker
 * answers): it takes what the broker answered and the time, and says what to do next. The
 * driver (settle-order.ts) does the I/O. Every signal ends in exactly one outcome, never twice,
 * and an order whose fate is unknown is never declared failed while its position may exist.
 *
 * Phases:
 * - `restored`: a signal an earlier run (or the account's previous owner) accepted but did not
 *   finish. Its order may have filled before, so positions are listed first (a few tries); a
 *   position carrying its request id means it executed. An unfinished signal older than
 *   `maxAgeMs` is not sent at all. When positions could not be listed, it is sent anyway (the
 *   bridge answers a repeated request id with its stored result), and an error that proves
 *   nothing (no answer from the bridge: a local circuit breaker, a 503) is then an unknown
 *   outcome, settled by listing as below: the earlier order may exist.
 * - `admission`: the trading state and the rate limit say whether it may be sent.
 * - `sending`: the order executor sends it with retries (same request id); admission is asked
 *   again when what it checked changed while the order was sized (a broker call).
 * - `resolving`: the last answer was an error after an attempt that may have reached the
 *   terminal; positions are listed until the position is found or proven absent, for at most
 *   `resolveWaitMs` (the trading loop waits meanwhile), or `loopWaitForAbsenceMs` while the
 *   listings do not show it. Absence is proven only `absentAfterMs` after the last attempt was
 *   signed: the bridge refuses a request whose signature is older than its window.
 * - `later`: still unknown after that: the loop goes on, and the lookup continues behind it
 *   with waits of at most `laterMaxDelayMs`, until found, proven absent, or the service stops.
 * - `proving`: a restored signal whose earlier order may exist, refused at admission, not
 *   sizable or too old to send: that order is looked for behind the loop; found, it executed;
 *   proven absent, the signal ends with the refusal.
 * A stop (the service's, or the account's moving to another owner) with the outcome unknown
 * leaves the signal unfinished, in the loop or behind it: the next start or owner settles it.
 */
export type SettlementOutcome =
  | { kind: 'executed'; fill: TradeResult; attempts: number }
  | { kind: 'executed_by_position'; position: Position; attempts: number; sentHere: boolean }
  | { kind: 'failed'; reason: string; attempts: number; retcode?: number; error?: string }
  | { kind: 'rejected'; reason: 'halted' }
  /** Stopping with the outcome unknown: the ledger keeps it unfinished; the next start settles it. */
  | { kind: 'unfinished' };

export type SettlementStep =
  | { kind: 'list' }
  | { kind: 'wait'; ms: number }
  | { kind: 'admit' }
  | { kind: 'send' }
  /** The outcome is unknown and may stay so for long: continue behind the loop. */
  | { kind: 'detach' }
  | { kind: 'done'; outcome: SettlementOutcome };

export interface SettlementOptions {
  requestId: string;
  restored: boolean;
  /**
   * When the signal was received. No run sends an order of a signal older than `maxAgeMs` (so
   * an earlier run's order was signed by receivedAtMs + maxAgeMs), and an unfinished one that
   * old is not sent at all.
   */
  receivedAtMs: number;
  /**
   * When a restored signal was taken up (its earlier run or owner had stopped sending by then):
   * its earlier order, if any, may still reach the terminal until `absentAfterMs` after it.
   */
  restoredAtMs?: number;
  maxAgeMs: number;
  /** How long the loop waits for an unknown outcome before it goes on (`later`). */
  resolveWaitMs: number;
  laterMaxDelayMs: number;
  /** Tries to list positions for a restored signal before sending it anyway. */
  restoredListRetries: number;
  /**
   * An order whose answer was lost may still reach the terminal a while later (queued in a busy
   * bridge, say), but never once the bridge refuses its signature's timestamp as too old: a
   * listing without its position proves it absent only this long after the outcome became
   * unknown (after its last attempt was signed).
   */
  absentAfterMs: number;
  /**
   * How long the loop waits on listings that do not show the order (it most likely never
   * arrived) before the proof goes on behind it; at most `resolveWaitMs`.
   */
  loopWaitForAbsenceMs: number;
  backoff: Backoff;
}

/** What the machine may ask of its surroundings, besides the broker's answers. */
export interface SettlementContext {
  now: number;
  stopping: boolean;
  /** A position this process closed since (a halt's close-all), found by its order's request id. */
  closedHere(requestId: string): Position | undefined;
}

type Phase =
  | { name: 'restored'; listFailures: number }
  /** `lapses`: admissions refused because the account's lease had lapsed for a moment. */
  | { name: 'admission'; lapses: number }
  | { name: 'sending' }
  | {
      name: 'resolving';
      deadline: number;
      listFailures: number;
      outcome: SentError;
      first: BrokerError;
      unknownSince: number;
    }
  | { name: 'later'; listFailures: number; outcome: SentError; first: BrokerError; unknownSince: number }
  /** Restored, an earlier order possible, and this run will not send it: it ends `unsent` unless that order is found. */
  | { name: 'proving'; listFailures: number; unsent: SettlementOutcome; unknownSince: number }
  | { name: 'done' };

type SentError = Extract<OrderOutcome, { kind: 'error' }>;

export class OrderSettlement {
  private phase: Phase;
  private waitingFor: 'list' | undefined;
  /**
   * Restored, and not proven absent (positions could not be listed, or were listed while the
   * earlier order could still arrive): an earlier order of it may exist.
   */
  private earlierOrderPossible = false;

  constructor(private readonly options: SettlementOptions) {
    this.phase = options.restored ? { name: 'restored', listFailures: 0 } : { name: 'admission', lapses: 0 };
  }

  /** The first step. */
  start(): SettlementStep {
    return this.phase.name === 'restored' ? this.list() : { kind: 'admit' };
  }

  /**
   * Why it may not be sent now (null: it may): the latch, the batch's equity read, the trading
   * state, the rate limit. A halt rejects the signal; anything else fails it with that reason,
   * except `lease_lapsed`: a shared account whose lease lapsed for a moment (a slow renewal) may
   * trade again in a moment, or moves to another process (a stop): admission is asked again
   * after a short wait, and a stop meanwhile leaves the signal unfinished for the next owner.
   */
  onAdmission(
    refusal: OpenRefusal | 'rate_limited' | typeof LEASE_LAPSED | (string & {}) | null,
  ): SettlementStep {
    const phase = this.expect('admission');
    if (refusal === LEASE_LAPSED)
      return {
        kind: 'wait',
        ms: Math.min(LEASE_LAPSE_MAX_WAIT_MS, backoffDelay(this.options.backoff, phase.lapses++)),
      };
    if (refusal === null) {
      this.phase = { name: 'sending' };
      return { kind: 'send' };
    }
    return this.notSent(
      refusal === 'halted'
        ? { kind: 'rejected', reason: 'halted' }
        : { kind: 'failed', reason: refusal, attempts: 0 },
    );
  }

  /**
   * It will not be sent (refused at admission, or it could not be sized): it ends so, unless an
   * earlier order of a restored signal may exist; then that is looked for first, behind the loop.
   */
  notSent(outcome: Extract<SettlementOutcome, { kind: 'failed' | 'rejected' }>): SettlementStep {
    if (this.phase.name !== 'admission' && this.phase.name !== 'sending')
      throw new Error(`settlement: not sent in phase ${this.phase.name}`);
    if (!this.earlierOrderPossible) return this.done(outcome);
    this.phase = {
      name: 'proving',
      listFailures: 0,
      unsent: outcome,
      unknownSince: this.earlierRunsLastSigning(this.options.restoredAtMs ?? this.options.receivedAtMs),
    };
    return { kind: 'detach' };
  }

  /**
   * Sized, but what admission checked no longer holds (sizing asked the broker, and a halt, the
   * lease or the age limit changed meanwhile): nothing was sent, and admission is asked again.
   */
  readmit(): SettlementStep {
    this.expect('sending');
    this.phase = { name: 'admission', lapses: 0 };
    return { kind: 'admit' };
  }

  /**
   * The order executor's outcome of `send`. `firstAmbiguous` is the first answer of any attempt
   * after which the order may have executed (no answer, or one that could not be read): the
   * outcome holds only the last attempt's answer, which may be a plain 503.
   */
  onSent(
    outcome: OrderOutcome,
    firstAmbiguous: BrokerError | undefined,
    ctx: SettlementContext,
  ): SettlementStep {
    this.expect('sending');
    switch (outcome.kind) {
      case 'filled':
        return this.done({ kind: 'executed', fill: outcome.result, attempts: outcome.attempts });
      case 'already_closed':
        // POSITION_CLOSED answers a close; for an open it is no fill, whatever the bridge meant.
        return this.done({
          kind: 'failed',
          reason: 'POSITION_CLOSED answered an open order',
          retcode: outcome.result.retcode,
          attempts: outcome.attempts,
        });
      case 'rejected': {
        // A transient retcode (REQUOTE) is not stored by the bridge: an earlier attempt whose
        // answer was lost, or an earlier run's order, may still execute under the same id.
        const mayStillExecute =
          classifyRetcode(outcome.retcode) === 'transient' &&
          (firstAmbiguous !== undefined || this.earlierOrderPossible);
        if (!mayStillExecute)
          return this.done({
            kind: 'failed',
            reason: outcome.reason,
            retcode: outcome.retcode,
            attempts: outcome.attempts,
          });
        return this.resolve(
          {
            kind: 'error',
            error: { kind: 'transient', code: retcodeName(outcome.retcode), message: outcome.reason },
            reason: outcome.reason,
            attempts: outcome.attempts,
          },
          firstAmbiguous,
          ctx,
        );
      }
      case 'error':
        if (firstAmbiguous === undefined && !this.earlierOrderPossible)
          return this.done({
            kind: 'failed',
            reason: outcome.reason,
            error: outcome.error.message,
            attempts: outcome.attempts,
          });
        return this.resolve(outcome, firstAmbiguous, ctx);
    }
  }

  /** The order may have executed: positions are listed until it is found or proven absent. */
  private resolve(
    outcome: SentError,
    firstAmbiguous: BrokerError | undefined,
    ctx: SettlementContext,
  ): SettlementStep {
    this.phase = {
      name: 'resolving',
      deadline: ctx.now + this.options.resolveWaitMs,
      listFailures: 0,
      outcome,
      first: firstAmbiguous ?? outcome.error,
      unknownSince: ctx.now,
    };
    return this.list();
  }

  /** The broker's answer to `list`. */
  onListed(listed: BrokerResult<Position[]>, ctx: SettlementContext): SettlementStep {
    if (this.waitingFor !== 'list')
      throw new Error(`settlement: positions listed in phase ${this.phase.name}`);
    this.waitingFor = undefined;
    const { requestId } = this.options;
    const found = listed.ok
      ? (positionWithRequestId(listed.value, requestId) ?? ctx.closedHere(requestId))
      : undefined;
    const phase = this.phase;
    switch (phase.name) {
      case 'restored': {
        if (found !== undefined)
          return this.done({ kind: 'executed_by_position', position: found, attempts: 0, sentHere: false });
        if (!listed.ok && phase.listFailures < this.options.restoredListRetries && !ctx.stopping)
          return this.waitThenList(phase.listFailures++);
        // Unlisted after the tries: a close-all of this run may still remember the position.
        const closed = listed.ok ? undefined : ctx.closedHere(requestId);
        if (closed !== undefined)
          return this.done({ kind: 'executed_by_position', position: closed, attempts: 0, sentHere: false });
        const lastSigning = this.earlierRunsLastSigning(ctx.now);
        this.earlierOrderPossible = !listed.ok || ctx.now < lastSigning + this.options.absentAfterMs;
        if (ctx.now - this.options.receivedAtMs > this.options.maxAgeMs) {
          // Too old to send; the earlier order, if it may still exist, is looked for first.
          const stale: SettlementOutcome = { kind: 'failed', reason: 'stale_after_restart', attempts: 0 };
          if (!this.earlierOrderPossible) return this.done(stale);
          this.phase = { name: 'proving', listFailures: 0, unsent: stale, unknownSince: lastSigning };
          return { kind: 'detach' };
        }
        this.phase = { name: 'admission', lapses: 0 };
        return { kind: 'admit' };
      }
      case 'resolving':
      case 'later': {
        const { outcome, first } = phase;
        const unknownAfter = `${outcome.reason}; outcome_unknown after ${first.code}`;
        if (found !== undefined)
          return this.done({
            kind: 'executed_by_position',
            position: found,
            attempts: outcome.attempts,
            // Found after a restored signal's send proved nothing: it may be the earlier order's.
            sentHere: !this.earlierOrderPossible,
          });
        if (listed.ok) {
          const next = this.nextLookBeforeAbsence(phase, ctx.now);
          if (next !== undefined) {
            if (ctx.stopping) return this.done({ kind: 'unfinished' });
            if (phase.name === 'later') return this.waitThenList(undefined, next);
            // The order most likely never arrived: the loop goes on, the proof behind it.
            if (ctx.now >= Math.min(phase.deadline, phase.unknownSince + this.options.loopWaitForAbsenceMs)) {
              this.phase = {
                name: 'later',
                listFailures: 0,
                outcome,
                first,
                unknownSince: phase.unknownSince,
              };
              return { kind: 'detach' };
            }
            const loopWaitEnds = Math.min(
              phase.deadline,
              phase.unknownSince + this.options.loopWaitForAbsenceMs,
            );
            return this.waitThenList(undefined, Math.min(next, loopWaitEnds - ctx.now));
          }
          return this.done({
            kind: 'failed',
            reason: `${unknownAfter}: no position carries its request id`,
            error: outcome.error.message,
            attempts: outcome.attempts,
          });
        }
        // Declaring it failed now could hide a filled position: keep looking.
        if (phase.name === 'resolving') {
          // Failing it now could hide a filled position (the next owner may list them): unfinished.
          if (ctx.stopping) return this.done({ kind: 'unfinished' });
          if (ctx.now < phase.deadline) {
            const ms = Math.min(
              backoffDelay(this.options.backoff, phase.listFailures++),
              phase.deadline - ctx.now,
            );
            return this.waitThenList(undefined, ms);
          }
          this.phase = { name: 'later', listFailures: 0, outcome, first, unknownSince: phase.unknownSince };
          return { kind: 'detach' };
        }
        if (ctx.stopping) return this.done({ kind: 'unfinished' });
        const ms = Math.min(
          this.options.laterMaxDelayMs,
          backoffDelay(this.options.backoff, phase.listFailures++),
        );
        return this.waitThenList(undefined, ms);
      }
      case 'proving': {
        if (found !== undefined)
          return this.done({ kind: 'executed_by_position', position: found, attempts: 0, sentHere: false });
        if (ctx.stopping) return this.done({ kind: 'unfinished' });
        if (!listed.ok)
          return this.waitThenList(
            undefined,
            Math.min(this.options.laterMaxDelayMs, backoffDelay(this.options.backoff, phase.listFailures++)),
          );
        const next = this.nextLookBeforeAbsence(phase, ctx.now);
        if (next !== undefined) return this.waitThenList(undefined, next);
        return this.done(phase.unsent);
      }
      default:
        throw new Error(`settlement: positions listed in phase ${phase.name}`);
    }
  }

  /** A `wait` ended (or was cut short by a stop). */
  onWaited(ctx: SettlementContext): SettlementStep {
    if (this.phase.name === 'admission')
      return ctx.stopping ? this.done({ kind: 'unfinished' }) : { kind: 'admit' };
    if ((this.phase.name === 'later' || this.phase.name === 'proving') && ctx.stopping)
      return this.done({ kind: 'unfinished' });
    return this.list();
  }

  get finished(): boolean {
    return this.phase.name === 'done';
  }

  /**
   * Until `absentAfterMs` after the outcome became unknown an empty listing proves nothing: the
   * wait before looking again (soon, so a late fill shows up). Undefined once absence counts.
   */
  private nextLookBeforeAbsence(
    phase: { unknownSince: number; listFailures: number },
    now: number,
  ): number | undefined {
    const provenAt = phase.unknownSince + this.options.absentAfterMs;
    if (now >= provenAt) return undefined;
    return Math.min(backoffDelay(this.options.backoff, phase.listFailures++), provenAt - now);
  }

  /**
   * The latest an earlier run (or owner) of a restored signal can have signed an attempt of its
   * order: before it stopped (the signal was taken up here after that), and never once the
   * signal was older than `maxAgeMs` (no run signs one then).
   */
  private earlierRunsLastSigning(now: number): number {
    const restoredAt = this.options.restoredAtMs ?? now;
    return Math.min(restoredAt, this.options.receivedAtMs + this.options.maxAgeMs);
  }

  private waitThenList(retry: number | undefined, ms?: number): SettlementStep {
    this.waitingFor = undefined;
    return { kind: 'wait', ms: ms ?? backoffDelay(this.options.backoff, retry ?? 0) };
  }

  private list(): SettlementStep {
    this.waitingFor = 'list';
    return { kind: 'list' };
  }

  private done(outcome: SettlementOutcome): SettlementStep {
    this.phase = { name: 'done' };
    return { kind: 'done', outcome };
  }

  private expect<N extends Phase['name']>(name: N): Extract<Phase, { name: N }> {
    const phase = this.phase;
    if (phase.name !== name) throw new Error(`settlement: expected phase ${name}, in ${phase.name}`);
    return phase as Extract<Phase, { name: N }>;
  }
}
