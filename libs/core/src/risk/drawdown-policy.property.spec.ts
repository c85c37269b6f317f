import fc from 'fast-check';
import { drawdownPercent } from './drawdown';
import { DrawdownPolicy, type BaselineMode, type DrawdownPolicyOptions } from './drawdown-policy';
import { emptyRiskState } from './risk-state';
import { HOUR, roundTrip, T0 } from './risk-test-helpers';
import { tradingDayKey } from './trading-day';

/**
 * Random equity paths (NaN, infinities, 0, negatives, huge values included) and random orders of
 * observe / pre-trade check / resume / manual halt / restart, checked against a small oracle.
 */
type Op =
  | { t: 'observe'; equity: number; dt: number }
  | { t: 'pre'; equity: number; dt: number }
  | { t: 'resume'; equity: number; dt: number }
  | { t: 'halt'; dt: number }
  | { t: 'restart'; capPercent: number };

const capArb = fc.oneof(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0.01, max: 100, noNaN: true }));

const equityArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 5_000, max: 15_000 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      0,
      -0,
      -1,
      -1e6,
      1e15,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
    ),
  },
  { weight: 1, arbitrary: fc.double({ min: -1e9, max: 1e12 }) },
);

const dtArb = fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 9 * HOUR }));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('observe' as const), equity: equityArb, dt: dtArb }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('pre' as const), equity: equityArb, dt: dtArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('resume' as const), equity: equityArb, dt: dtArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('halt' as const), dt: dtArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), capPercent: capArb }) },
);

const optionsArb: fc.Arbitrary<DrawdownPolicyOptions> = fc.record({
  capPercent: capArb,
  baselineMode: fc.constantFrom<BaselineMode>('start', 'peak'),
  dailyLossCapPercent: fc.option(capArb, { nil: undefined }),
  dailyResetTimezone: fc.constantFrom('UTC', 'Europe/Prague', 'America/New_York'),
  warnRatio: fc.double({ min: 0.05, max: 1, noNaN: true }),
  confirmReads: fc.integer({ min: 1, max: 4 }),
});

const inRange = (x: number): boolean => x >= 0 && x <= 100;

describe('DrawdownPolicy: properties', () => {
  it('never allows a new position after a trigger or halt until resume; triggers exactly when confirmed; drawdown in [0, 100]', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(opArb, { minLength: 1, maxLength: 80 }), (options, ops) => {
        let policy = new DrawdownPolicy(options, emptyRiskState());
        let cap = options.capPercent;
        const dailyCap = options.dailyLossCapPercent;
        const tz = options.dailyResetTimezone;
        // The oracle.
        let now = T0;
        let baseline: number | null = null;
        let peak: number | null = null;
        let anchor = null as { day: string; equity: number } | null;
        let halted = false;
        let streak = 0;

        for (const op of ops) {
          if (op.t !== 'restart') now += op.dt;
          switch (op.t) {
            case 'observe': {
              const o = policy.observe(op.equity, now);
              if (!Number.isFinite(op.equity)) {
                expect(o.kind).toBe('invalid_read');
                break;
              }
              if (o.kind !== 'ok') throw new Error('a finite read must be valid');
              const e = op.equity;
              if (e > 0) {
                if (baseline === null) {
                  baseline = e;
                  peak = e;
                } else if (!halted && e > (peak ?? 0)) {
                  peak = e;
                  if (options.baselineMode === 'peak') baseline = Math.max(baseline, e);
                }
              }
              const day = tradingDayKey(now, tz);
              if (e > 0 && anchor?.day !== day) anchor = { day, equity: e };
              const total = baseline === null ? 100 : drawdownPercent(baseline, e);
              const daily = e <= 0 ? 100 : anchor?.day === day ? drawdownPercent(anchor.equity, e) : null;
              // (c)
              expect(inRange(o.drawdownPercent)).toBe(true);
              if (o.dailyDrawdownPercent !== null) expect(inRange(o.dailyDrawdownPercent)).toBe(true);
              expect(o.drawdownPercent).toBe(total);
              expect(o.dailyDrawdownPercent).toBe(daily);
              const breach = total >= cap || (dailyCap !== undefined && daily !== null && daily >= dailyCap);
              expect(o.breach !== null).toBe(breach);
              if (halted) {
                // Never a second trigger while halted.
                expect(o.trigger).toBeNull();
              } else {
                streak = breach ? streak + 1 : 0;
                // (b) a trigger iff confirmReads consecutive valid breaching reads, at that read.
                const shouldTrigger = streak >= options.confirmReads;
                expect(o.trigger !== null).toBe(shouldTrigger);
                if (o.trigger !== null) {
                  const reading = o.trigger.cap === 'total' ? total : daily;
                  expect(reading).not.toBeNull();
                  expect(reading!).toBeGreaterThanOrEqual(o.trigger.capPercent);
                  halted = true;
                  streak = 0;
                }
              }
              expect(o.halted).toBe(halted);
              break;
            }
            case 'pre': {
              const r = policy.preTradeCheck(op.equity, now);
              // (a)
              if (halted) {
                expect(r).toEqual({ allowed: false, reason: 'halted' });
                break;
              }
              if (!Number.isFinite(op.equity)) {
                expect(r).toEqual({ allowed: false, reason: 'invalid_equity' });
                break;
              }
              const e = op.equity;
              const total = e <= 0 ? 100 : baseline === null ? 0 : drawdownPercent(baseline, e);
              const day = tradingDayKey(now, tz);
              const daily = e <= 0 ? 100 : anchor?.day === day ? drawdownPercent(anchor.equity, e) : 0;
              const refuse = total >= cap || (dailyCap !== undefined && daily >= dailyCap);
              expect(r.allowed).toBe(!refuse);
              if (!r.allowed && r.drawdownPercent !== undefined)
                expect(inRange(r.drawdownPercent)).toBe(true);
              break;
            }
            case 'resume': {
              const r = policy.resume(op.equity, now, 'ops', 'property test');
              if (!halted) expect(r).toMatchObject({ ok: false, code: 'not_halted' });
              else if (!Number.isFinite(op.equity) || op.equity <= 0)
                expect(r).toMatchObject({ ok: false, code: 'invalid_equity' });
              else {
                expect(r.ok).toBe(true);
                baseline = op.equity;
                peak = op.equity;
                anchor = { day: tradingDayKey(now, tz), equity: op.equity };
                halted = false;
                streak = 0;
              }
              break;
            }
            case 'halt': {
              policy.latchHalt({
                id: `manual-${now}`,
                reason: 'property',
                source: 'manual',
                at: now,
                drawdownPercent: null,
                capPercent: null,
              });
              halted = true;
              streak = 0;
              break;
            }
            case 'restart': {
              // Crash and restart, possibly with another cap: the latch and baselines come back from disk.
              cap = op.capPercent;
              policy = new DrawdownPolicy({ ...options, capPercent: cap }, roundTrip(policy.state()));
              streak = 0;
              break;
            }
          }
          expect(policy.isHalted()).toBe(halted);
          const s = policy.state();
          expect(s.baselineEquity).toBe(baseline);
          expect(s.peakEquity).toBe(peak);
          expect(s.daily).toEqual(anchor === null ? null : { day: anchor.day, anchorEquity: anchor.equity });
        }
      }),
      { numRuns: 400 },
    );
  });

  it('drawdownPercent stays in [0, 100] and matches the plain formula for any finite baseline > 0 and equity', () => {
    fc.assert(
      fc.property(
        fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (baseline, equity) => {
          const d = drawdownPercent(baseline, equity);
          expect(inRange(d)).toBe(true);
          if (equity <= 0) expect(d).toBe(100);
          else {
            const plain = Math.min(100, Math.max(0, ((baseline - equity) / baseline) * 100));
            expect(Math.abs(d - plain)).toBeLessThanOrEqual(1e-9);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
