import { fail, ok, type BrokerError } from '../broker/broker-error';
import type { Position, TradeResult } from '../broker/broker-types';
import { Retcode } from '../broker/retcodes';
import type { OrderOutcome } from './order-executor';
import {
  LEASE_LAPSED,
  OrderSettlement,
  type SettlementContext,
  type SettlementOptions,
} from './order-settlement';
import { positionFixture } from '../testing/position-fixture';

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const REQUEST = 'o-0123456789abcdef012345';
const options = (over: Partial<SettlementOptions> = {}): SettlementOptions => ({
  requestId: REQUEST,
  restored: false,
  receivedAtMs: T0,
  maxAgeMs: 300_000,
  resolveWaitMs: 30_000,
  laterMaxDelayMs: 5_000,
  restoredListRetries: 3,
  absentAfterMs: 0,
  loopWaitForAbsenceMs: 30_000,
  backoff: { baseDelayMs: 50, maxDelayMs: 2_000, random: () => 0.5 },
  ...over,
});
const ctx = (over: Partial<SettlementContext> = {}): SettlementContext => ({
  now: T0,
  stopping: false,
  closedHere: () => undefined,
  ...over,
});
const position = (comment = REQUEST): Position => positionFixture({ comment });
const fill: TradeResult = {
  request_id: REQUEST,
  retcode: Retcode.DONE,
  order: 7,
  deal: 8,
  position: 7,
  volume: 0.1,
  price: 1.1,
  comment: '',
};
const lost: BrokerError = { kind: 'unknown_outcome', code: 'timeout', message: 'no answer' };
const errorOutcome = (attempts = 4): OrderOutcome => ({
  kind: 'error',
  error: { kind: 'transient', code: 'http_503', message: '503' },
  reason: 'transient: http_503',
  attempts,
});
const unlisted = fail('transient', 'circuit_open', 'bridge down');

describe('OrderSettlement: one open order, exactly one ending', () => {
  it('a fresh signal is admitted, sent, and ends executed with the fill', () => {
    const s = new OrderSettlement(options());
    expect(s.start()).toEqual({ kind: 'admit' });
    expect(s.onAdmission(null)).toEqual({ kind: 'send' });
    expect(s.onSent({ kind: 'filled', result: fill, attempts: 1 }, undefined, ctx())).toEqual({
      kind: 'done',
      outcome: { kind: 'executed', fill, attempts: 1 },
    });
    expect(s.finished).toBe(true);
  });

  it('a halt rejects it; any other refusal fails it with its reason, without sending', () => {
    expect(new OrderSettlement(options()).onAdmission('halted')).toEqual({
      kind: 'done',
      outcome: { kind: 'rejected', reason: 'halted' },
    });
    const refused = new OrderSettlement(options());
    refused.start();
    expect(refused.onAdmission('rate_limited')).toEqual({
      kind: 'done',
      outcome: { kind: 'failed', reason: 'rate_limited', attempts: 0 },
    });
  });

  it('lease_lapsed at admission: asked again after a short wait; a stop meanwhile leaves it unfinished', () => {
    const s = new OrderSettlement(options());
    for (let i = 0; i < 5; i += 1) {
      const step = s.onAdmission(LEASE_LAPSED);
      expect(step).toMatchObject({ kind: 'wait' });
      expect(step.kind === 'wait' && step.ms).toBeLessThanOrEqual(500);
      expect(s.onWaited(ctx())).toEqual({ kind: 'admit' });
    }
    expect(s.onAdmission(null)).toEqual({ kind: 'send' });

    const stopped = new OrderSettlement(options());
    stopped.onAdmission(LEASE_LAPSED);
    expect(stopped.onWaited(ctx({ stopping: true }))).toEqual({
      kind: 'done',
      outcome: { kind: 'unfinished' },
    });
  });

  it('POSITION_CLOSED answering an open is no fill', () => {
    const s = new OrderSettlement(options());
    s.onAdmission(null);
    const step = s.onSent(
      { kind: 'already_closed', result: { ...fill, retcode: Retcode.POSITION_CLOSED }, attempts: 1 },
      undefined,
      ctx(),
    );
    expect(step).toMatchObject({
      kind: 'done',
      outcome: { kind: 'failed', retcode: Retcode.POSITION_CLOSED },
    });
  });

  it('an error after an attempt that may have reached the terminal is looked up by its comment: found means executed', () => {
    const s = new OrderSettlement(options());
    s.onAdmission(null);
    expect(s.onSent(errorOutcome(), lost, ctx())).toEqual({ kind: 'list' });
    expect(s.onListed(ok([position()]), ctx())).toEqual({
      kind: 'done',
      outcome: { kind: 'executed_by_position', position: position(), attempts: 4, sentHere: true },
    });
  });

  it('a list without its position proves it did not fill: failed, naming the first lost answer', () => {
    const s = new OrderSettlement(options());
    s.onAdmission(null);
    s.onSent(errorOutcome(), lost, ctx());
    const step = s.onListed(ok([position('someone-else')]), ctx());
    expect(step).toMatchObject({
      kind: 'done',
      outcome: {
        kind: 'failed',
        reason: 'transient: http_503; outcome_unknown after timeout: no position carries its request id',
      },
    });
  });

  it('an error with no lost answer before it fails at once (nothing can have filled)', () => {
    const s = new OrderSettlement(options());
    s.onAdmission(null);
    expect(s.onSent(errorOutcome(1), undefined, ctx())).toMatchObject({
      kind: 'done',
      outcome: { kind: 'failed' },
    });
  });

  it('while positions cannot be listed it waits with backoff up to the deadline, then goes on behind the loop', () => {
    const s = new OrderSettlement(options({ resolveWaitMs: 1_000 }));
    s.onAdmission(null);
    s.onSent(errorOutcome(), lost, ctx());
    const waits: number[] = [];
    let now = T0;
    let step = s.onListed(unlisted, ctx({ now }));
    while (step.kind === 'wait') {
      waits.push(step.ms);
      now += step.ms;
      expect(s.onWaited(ctx({ now }))).toEqual({ kind: 'list' });
      step = s.onListed(unlisted, ctx({ now }));
    }
    expect(step).toEqual({ kind: 'detach' });
    expect(waits.reduce((a, b) => a + b, 0)).toBe(1_000);
    expect(waits[1]).toBeGreaterThan(waits[0]);
    // Behind the loop: waits capped at laterMaxDelayMs, until the broker can say.
    expect(s.onWaited(ctx({ now }))).toEqual({ kind: 'list' });
    for (let i = 0; i < 10; i++) {
      const later = s.onListed(unlisted, ctx({ now }));
      expect(later).toMatchObject({ kind: 'wait' });
      expect(later.kind === 'wait' && later.ms).toBeLessThanOrEqual(5_000);
      s.onWaited(ctx({ now }));
    }
    expect(s.onListed(ok([position()]), ctx({ now }))).toMatchObject({
      kind: 'done',
      outcome: { kind: 'executed_by_position' },
    });
  });

  /** Lists (empty) at every step until the machine stops asking to wait; answers that step and the time. */
  function listEmptyWhileWaiting(s: OrderSettlement, from: number, until = Infinity) {
    let now = from;
    let step = s.onListed(ok([]), ctx({ now }));
    while (step.kind === 'wait' && now + step.ms <= until) {
      now += step.ms;
      expect(s.onWaited(ctx({ now }))).toEqual({ kind: 'list' });
      step = s.onListed(ok([]), ctx({ now }));
    }
    return { step, now };
  }

  it('an order that lands after the first listing: absence is proven only absentAfterMs after the answer was lost', () => {
    const landsLate = new OrderSettlement(options({ absentAfterMs: 5_000 }));
    landsLate.onAdmission(null);
    landsLate.onSent(errorOutcome(), lost, ctx());
    // Listed without it for 3 s (the busy bridge still holds the request): it keeps looking.
    const looking = listEmptyWhileWaiting(landsLate, T0, T0 + 3_000);
    expect(looking.step).toMatchObject({ kind: 'wait' });
    // The order lands: the next listing finds it.
    const now = looking.now + (looking.step.kind === 'wait' ? looking.step.ms : 0);
    landsLate.onWaited(ctx({ now }));
    expect(landsLate.onListed(ok([position()]), ctx({ now }))).toMatchObject({
      kind: 'done',
      outcome: { kind: 'executed_by_position', sentHere: true },
    });

    const neverLands = new OrderSettlement(options({ absentAfterMs: 5_000 }));
    neverLands.onAdmission(null);
    neverLands.onSent(errorOutcome(), lost, ctx());
    const ended = listEmptyWhileWaiting(neverLands, T0);
    expect(ended.step).toMatchObject({
      kind: 'done',
      outcome: { kind: 'failed', reason: expect.stringContaining('no position carries its request id') },
    });
    expect(ended.now).toBeGreaterThanOrEqual(T0 + 5_000);

    const stopped = new OrderSettlement(options({ absentAfterMs: 5_000 }));
    stopped.onAdmission(null);
    stopped.onSent(errorOutcome(), lost, ctx());
    expect(stopped.onListed(ok([]), ctx({ stopping: true }))).toEqual({
      kind: 'done',
      outcome: { kind: 'unfinished' },
    });
  });

  it('the loop waits for the proof at most until its deadline, then goes on looking behind it', () => {
    const s = new OrderSettlement(options({ absentAfterMs: 5_000, resolveWaitMs: 2_000 }));
    s.onAdmission(null);
    s.onSent(errorOutcome(), lost, ctx());
    const inLoop = listEmptyWhileWaiting(s, T0);
    expect(inLoop.step).toEqual({ kind: 'detach' });
    expect(inLoop.now).toBe(T0 + 2_000);
    expect(s.onWaited(ctx({ now: inLoop.now }))).toEqual({ kind: 'list' });
    const behind = listEmptyWhileWaiting(s, inLoop.now);
    expect(behind.step).toMatchObject({ kind: 'done', outcome: { kind: 'failed' } });
    expect(behind.now).toBeGreaterThanOrEqual(T0 + 5_000);
  });

  it('empty listings free the loop after loopWaitForAbsenceMs; absence is proven behind it, once the signature window is over', () => {
    // The executor's figures: the bridge refuses a signature older than 30 s, plus 5 s for the clocks.
    const s = new OrderSettlement(options({ absentAfterMs: 35_000, loopWaitForAbsenceMs: 5_000 }));
    s.onAdmission(null);
    s.onSent(errorOutcome(), lost, ctx());
    const inLoop = listEmptyWhileWaiting(s, T0);
    expect(inLoop.step).toEqual({ kind: 'detach' });
    expect(inLoop.now).toBe(T0 + 5_000);
    s.onWaited(ctx({ now: inLoop.now }));
    // Still empty 30 s after: not absent yet (a request signed at T0 may still be taken until T0 + 30 s).
    const early = listEmptyWhileWaiting(s, inLoop.now, T0 + 34_000);
    expect(early.step).toMatchObject({ kind: 'wait' });
    const at = early.now + (early.step.kind === 'wait' ? early.step.ms : 0);
    s.onWaited(ctx({ now: at }));
    const behind = listEmptyWhileWaiting(s, at);
    expect(behind.step).toMatchObject({ kind: 'done', outcome: { kind: 'failed' } });
    expect(behind.now).toBeGreaterThanOrEqual(T0 + 35_000);
  });

  it('a stop with the outcome unknown leaves it unfinished, in the loop and behind it (the next owner lists)', () => {
    const inLoop = new OrderSettlement(options());
    inLoop.onAdmission(null);
    inLoop.onSent(errorOutcome(), lost, ctx());
    expect(inLoop.onListed(unlisted, ctx({ stopping: true }))).toEqual({
      kind: 'done',
      outcome: { kind: 'unfinished' },
    });

    const behind = new OrderSettlement(options({ resolveWaitMs: 0 }));
    behind.onAdmission(null);
    behind.onSent(errorOutcome(), lost, ctx());
    expect(behind.onListed(unlisted, ctx())).toEqual({ kind: 'detach' });
    expect(behind.onWaited(ctx({ stopping: true }))).toEqual({
      kind: 'done',
      outcome: { kind: 'unfinished' },
    });
  });

  describe('a signal restored after a crash', () => {
    it('is executed when a position carries its request id, without being sent', () => {
      const s = new OrderSettlement(options({ restored: true }));
      expect(s.start()).toEqual({ kind: 'list' });
      expect(s.onListed(ok([position()]), ctx())).toMatchObject({
        kind: 'done',
        outcome: { kind: 'executed_by_position', sentHere: false },
      });
    });

    it('is executed when this process closed its position since (a halt at start)', () => {
      const s = new OrderSettlement(options({ restored: true }));
      s.start();
      expect(s.onListed(ok([]), ctx({ closedHere: () => position() }))).toMatchObject({
        kind: 'done',
        outcome: { kind: 'executed_by_position' },
      });
    });

    it('is not sent when older than the signal age limit', () => {
      const s = new OrderSettlement(options({ restored: true }));
      s.start();
      expect(s.onListed(ok([]), ctx({ now: T0 + 300_001 }))).toEqual({
        kind: 'done',
        outcome: { kind: 'failed', reason: 'stale_after_restart', attempts: 0 },
      });
    });

    it('too old to send, taken up moments ago: its earlier order is looked for before it fails stale', () => {
      const restoredAtMs = T0 + 300_000;
      const lands = new OrderSettlement(options({ restored: true, restoredAtMs, absentAfterMs: 35_000 }));
      lands.start();
      // The earlier owner's order may still be on its way to the terminal: not failed yet.
      expect(lands.onListed(ok([]), ctx({ now: restoredAtMs + 1_000 }))).toEqual({ kind: 'detach' });
      expect(lands.onWaited(ctx({ now: restoredAtMs + 1_000 }))).toEqual({ kind: 'list' });
      expect(lands.onListed(ok([position()]), ctx({ now: restoredAtMs + 3_000 }))).toMatchObject({
        kind: 'done',
        outcome: { kind: 'executed_by_position', sentHere: false },
      });

      const never = new OrderSettlement(options({ restored: true, restoredAtMs, absentAfterMs: 35_000 }));
      never.start();
      never.onListed(ok([]), ctx({ now: restoredAtMs + 1_000 }));
      never.onWaited(ctx({ now: restoredAtMs + 1_000 }));
      const ended = listEmptyWhileWaiting(never, restoredAtMs + 1_000);
      expect(ended.step).toEqual({
        kind: 'done',
        outcome: { kind: 'failed', reason: 'stale_after_restart', attempts: 0 },
      });
      expect(ended.now).toBeGreaterThanOrEqual(restoredAtMs + 35_000);
    });

    it('too old for longer than the signature window: failed stale at once (no run signed its order since)', () => {
      // Received at T0, limit 300 s: no attempt was signed after T0 + 300 s, so none lands after T0 + 335 s.
      const s = new OrderSettlement(
        options({ restored: true, restoredAtMs: T0 + 400_000, absentAfterMs: 35_000 }),
      );
      s.start();
      expect(s.onListed(ok([]), ctx({ now: T0 + 400_000 }))).toEqual({
        kind: 'done',
        outcome: { kind: 'failed', reason: 'stale_after_restart', attempts: 0 },
      });
    });

    it('too old and not listable: never failed while unlisted (its order may exist)', () => {
      const s = new OrderSettlement(options({ restored: true, restoredListRetries: 0 }));
      s.start();
      expect(s.onListed(unlisted, ctx({ now: T0 + 300_001 }))).toEqual({ kind: 'detach' });
      s.onWaited(ctx({ now: T0 + 300_001 }));
      expect(s.onListed(unlisted, ctx({ now: T0 + 400_000 }))).toMatchObject({ kind: 'wait' });
    });

    it('tries to list a few times, then goes to admission (the bridge keeps the id for 24 h)', () => {
      const s = new OrderSettlement(options({ restored: true, restoredListRetries: 2 }));
      s.start();
      expect(s.onListed(unlisted, ctx())).toMatchObject({ kind: 'wait' });
      s.onWaited(ctx());
      expect(s.onListed(unlisted, ctx())).toMatchObject({ kind: 'wait' });
      s.onWaited(ctx());
      expect(s.onListed(unlisted, ctx())).toEqual({ kind: 'admit' });
    });

    /** Restored, positions not listable, so admitted and sent anyway. */
    const sentUnlisted = () => {
      const s = new OrderSettlement(options({ restored: true, restoredListRetries: 0 }));
      s.start();
      expect(s.onListed(unlisted, ctx())).toEqual({ kind: 'admit' });
      expect(s.onAdmission(null)).toEqual({ kind: 'send' });
      return s;
    };
    const refusedLocally = (): OrderOutcome => ({
      kind: 'error',
      error: { kind: 'transient', code: 'circuit_open', message: 'circuit open' },
      reason: 'transient: circuit_open',
      attempts: 4,
    });

    it('sent without a listing and refused without an answer: not failed, listed until the earlier order is found', () => {
      const s = sentUnlisted();
      // No attempt reached the bridge, but the previous owner's may have: that is unknown, not failed.
      expect(s.onSent(refusedLocally(), undefined, ctx())).toEqual({ kind: 'list' });
      expect(s.onListed(unlisted, ctx())).toMatchObject({ kind: 'wait' });
      s.onWaited(ctx());
      expect(s.onListed(ok([position()]), ctx())).toMatchObject({
        kind: 'done',
        outcome: { kind: 'executed_by_position', sentHere: false },
      });
    });

    it('sent without a listing and refused without an answer: failed once a listing proves no order exists', () => {
      const s = sentUnlisted();
      s.onSent(refusedLocally(), undefined, ctx());
      expect(s.onListed(ok([position('o-another-request-id-0000')]), ctx())).toMatchObject({
        kind: 'done',
        outcome: { kind: 'failed', reason: expect.stringContaining('no position carries its request id') },
      });
    });

    it('listed without its position, then refused without an answer: failed at once (no earlier order exists)', () => {
      const s = new OrderSettlement(options({ restored: true }));
      s.start();
      expect(s.onListed(ok([]), ctx())).toEqual({ kind: 'admit' });
      s.onAdmission(null);
      expect(s.onSent(refusedLocally(), undefined, ctx())).toMatchObject({
        kind: 'done',
        outcome: { kind: 'failed', reason: 'transient: circuit_open' },
      });
    });
  });

  it('refuses a step out of order: a settlement never ends twice', () => {
    const s = new OrderSettlement(options());
    s.onAdmission(null);
    s.onSent({ kind: 'filled', result: fill, attempts: 1 }, undefined, ctx());
    expect(() => s.onListed(ok([]), ctx())).toThrow();
    expect(() => s.onAdmission(null)).toThrow();
  });
});
