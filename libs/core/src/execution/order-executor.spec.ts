import { fail, ok, type BrokerError, type BrokerResult } from '../broker/broker-error';
import type { BrokerGateway } from '../broker/broker-gateway.port';
import type {
  AccountInfo,
  BrokerHealth,
  ClosePositionRequest,
  Deal,
  OpenOrderRequest,
  Position,
  SymbolInfo,
  TradeResult,
} from '../broker/broker-types';
import { Retcode } from '../broker/retcodes';
import { executeClose, executeOpenOrder, positionWithRequestId, type RetryPolicy } from './order-executor';

/** One scripted answer: a retcode (a trade answer) or a broker error. */
type Scripted = number | BrokerError;

/**
 * A broker that answers trade requests from a script and, like the bridge, executes a request id
 * once: a fill is stored and a repeat of its id returns the stored answer without trading again.
 */
class ScriptedGateway implements BrokerGateway {
  readonly openRequests: OpenOrderRequest[] = [];
  readonly closeRequests: ClosePositionRequest[] = [];
  /** Request ids that actually traded, one entry per trade. */
  readonly trades: string[] = [];
  private readonly stored = new Map<string, TradeResult>();
  positionList: BrokerResult<Position[]> = ok([]);

  constructor(private readonly script: Scripted[]) {}

  health(): Promise<BrokerResult<BrokerHealth>> {
    return Promise.resolve(ok({ connected: true }));
  }

  account(): Promise<BrokerResult<AccountInfo>> {
    return Promise.resolve(fail('final', 'not_scripted', 'account is not part of this script'));
  }

  symbol(): Promise<BrokerResult<SymbolInfo>> {
    return Promise.resolve(fail('final', 'unknown_symbol', 'symbol is not part of this script'));
  }
  deals(): Promise<BrokerResult<Deal[]>> {
    return Promise.resolve(ok([]));
  }
  positions(): Promise<BrokerResult<Position[]>> {
    return Promise.resolve(this.positionList);
  }

  openPosition(request: OpenOrderRequest): Promise<BrokerResult<TradeResult>> {
    this.openRequests.push({ ...request });
    return Promise.resolve(this.answer(request.request_id));
  }

  closePosition(request: ClosePositionRequest): Promise<BrokerResult<TradeResult>> {
    this.closeRequests.push({ ...request });
    return Promise.resolve(this.answer(request.request_id));
  }

  private answer(requestId: string): BrokerResult<TradeResult> {
    const repeat = this.stored.get(requestId);
    if (repeat !== undefined) return ok(repeat);
    const next = this.script.shift();
    if (next === undefined) throw new Error(`script exhausted at request ${requestId}`);
    if (typeof next !== 'number') return { ok: false, error: next };
    const result: TradeResult = {
      request_id: requestId,
      retcode: next,
      order: 11,
      deal: 12,
      position: 7,
      volume: 0.1,
      price: 1.0901,
      comment: 'scripted',
    };
    if (next === Retcode.DONE || next === Retcode.DONE_PARTIAL || next === Retcode.PLACED) {
      this.trades.push(requestId);
      this.stored.set(requestId, result);
    }
    return ok(result);
  }
}

const transient = (code = 'http_503'): BrokerError => ({
  kind: 'transient',
  code,
  message: 'bridge answered 503',
});
const unknownOutcome = (code = 'timeout'): BrokerError => ({
  kind: 'unknown_outcome',
  code,
  message: 'timed out after sending',
});

/** A policy whose sleep records the delays instead of waiting. random() = 0 makes each delay half its step. */
const policy = (maxRetries: number, random = 0): RetryPolicy & { delays: number[] } => {
  const delays: number[] = [];
  return {
    delays,
    maxRetries,
    baseDelayMs: 100,
    maxDelayMs: 5000,
    random: () => random,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  };
};

const OPEN: OpenOrderRequest = {
  request_id: 'o-abc',
  symbol: 'EURUSD',
  type: 'buy',
  volume: 0.1,
  magic: 19019,
  comment: 'o-abc',
};
const CLOSE: ClosePositionRequest = { request_id: 'h-def', ticket: 7 };

describe('order executor: retries of transient outcomes', () => {
  it('retries a REQUOTE with the SAME request id and executes once', async () => {
    const gateway = new ScriptedGateway([Retcode.REQUOTE, Retcode.DONE]);
    const p = policy(3);
    const outcome = await executeOpenOrder(gateway, OPEN, p);
    expect(outcome).toMatchObject({
      kind: 'filled',
      attempts: 2,
      result: { retcode: Retcode.DONE, request_id: 'o-abc', position: 7 },
    });
    expect(gateway.openRequests.map((r) => r.request_id)).toEqual(['o-abc', 'o-abc']);
    expect(gateway.openRequests[1]).toEqual(OPEN);
    expect(gateway.trades).toEqual(['o-abc']);
    expect(p.delays).toEqual([50]);
  });

  it.each([Retcode.PRICE_CHANGED, Retcode.PRICE_OFF, Retcode.TOO_MANY_REQUESTS, Retcode.CONNECTION])(
    'retries transient retcode %i',
    async (retcode) => {
      const gateway = new ScriptedGateway([retcode, Retcode.DONE]);
      expect(await executeOpenOrder(gateway, OPEN, policy(3))).toMatchObject({ kind: 'filled', attempts: 2 });
      expect(gateway.trades).toEqual(['o-abc']);
    },
  );

  it('retries transient errors and unknown outcomes with the same id, backing off exponentially', async () => {
    const gateway = new ScriptedGateway([
      transient(),
      unknownOutcome(),
      transient('connection_reset'),
      Retcode.DONE,
    ]);
    const p = policy(3);
    expect(await executeOpenOrder(gateway, OPEN, p)).toMatchObject({ kind: 'filled', attempts: 4 });
    expect(new Set(gateway.openRequests.map((r) => r.request_id))).toEqual(new Set(['o-abc']));
    expect(gateway.openRequests).toHaveLength(4);
    expect(p.delays).toEqual([50, 100, 200]);
  });

  it('gives up after maxRetries retries (maxRetries + 1 attempts) of a transient error and returns it', async () => {
    const gateway = new ScriptedGateway([transient(), transient(), transient(), transient(), Retcode.DONE]);
    const p = policy(3);
    const outcome = await executeOpenOrder(gateway, OPEN, p);
    expect(outcome).toEqual({
      kind: 'error',
      error: transient(),
      reason: 'transient: http_503',
      attempts: 4,
    });
    expect(gateway.openRequests).toHaveLength(4);
    expect(gateway.trades).toEqual([]);
    expect(p.delays).toEqual([50, 100, 200]);
  });

  it('gives up after maxRetries of unknown outcomes and returns the last one', async () => {
    const gateway = new ScriptedGateway([unknownOutcome(), unknownOutcome('connection_reset'), Retcode.DONE]);
    const outcome = await executeClose(gateway, CLOSE, policy(1));
    expect(outcome).toMatchObject({
      kind: 'error',
      error: { kind: 'unknown_outcome', code: 'connection_reset' },
      attempts: 2,
    });
    expect(gateway.closeRequests.map((r) => r.request_id)).toEqual(['h-def', 'h-def']);
  });

  it('gives up on a transient retcode after maxRetries and reports it as rejected with the retcode', async () => {
    const gateway = new ScriptedGateway([Retcode.REQUOTE, Retcode.REQUOTE, Retcode.REQUOTE]);
    const outcome = await executeOpenOrder(gateway, OPEN, policy(2));
    expect(outcome).toEqual({
      kind: 'rejected',
      retcode: Retcode.REQUOTE,
      reason: 'REQUOTE after 3 attempts',
      attempts: 3,
    });
    expect(gateway.trades).toEqual([]);
  });

  it('with maxRetries 0 makes exactly one attempt and never sleeps', async () => {
    const gateway = new ScriptedGateway([transient(), Retcode.DONE]);
    const p = policy(0);
    expect(await executeOpenOrder(gateway, OPEN, p)).toMatchObject({ kind: 'error', attempts: 1 });
    expect(gateway.openRequests).toHaveLength(1);
    expect(p.delays).toEqual([]);
  });

  it('a retry after a lost fill gets the stored fill back and does not trade twice', async () => {
    // First attempt fills, but the answer is lost (the gateway stores it); the retry of the same id returns the stored fill.
    const gateway = new ScriptedGateway([Retcode.DONE]);
    await gateway.openPosition(OPEN);
    const outcome = await executeOpenOrder(gateway, OPEN, policy(3));
    expect(outcome).toMatchObject({ kind: 'filled', attempts: 1 });
    expect(gateway.trades).toEqual(['o-abc']);
  });
});

describe('order executor: final outcomes end at once', () => {
  it.each([
    [Retcode.REJECT, 'REJECT'],
    [Retcode.INVALID, 'INVALID'],
    [Retcode.INVALID_VOLUME, 'INVALID_VOLUME'],
    [Retcode.INVALID_PRICE, 'INVALID_PRICE'],
    [Retcode.INVALID_STOPS, 'INVALID_STOPS'],
    [Retcode.MARKET_CLOSED, 'MARKET_CLOSED'],
    [Retcode.NO_MONEY, 'NO_MONEY'],
    [Retcode.CLIENT_DISABLES_AT, 'CLIENT_DISABLES_AT'],
    [10099, 'RETCODE_10099'],
  ])('does not retry final retcode %i (%s)', async (retcode, name) => {
    const gateway = new ScriptedGateway([retcode, Retcode.DONE]);
    const p = policy(3);
    expect(await executeOpenOrder(gateway, OPEN, p)).toEqual({
      kind: 'rejected',
      retcode,
      reason: name,
      attempts: 1,
    });
    expect(gateway.openRequests).toHaveLength(1);
    expect(gateway.trades).toEqual([]);
    expect(p.delays).toEqual([]);
  });

  it('stops at a final retcode met after a retry', async () => {
    const gateway = new ScriptedGateway([Retcode.REQUOTE, Retcode.NO_MONEY, Retcode.DONE]);
    expect(await executeOpenOrder(gateway, OPEN, policy(3))).toEqual({
      kind: 'rejected',
      retcode: Retcode.NO_MONEY,
      reason: 'NO_MONEY',
      attempts: 2,
    });
  });

  it.each<[BrokerError['kind'], string]>([
    ['final', 'http_400'],
    ['invalid_response', 'bad_body'],
  ])('does not retry a %s error', async (kind, code) => {
    const error: BrokerError = { kind, code, message: 'no' };
    const gateway = new ScriptedGateway([error, Retcode.DONE]);
    expect(await executeOpenOrder(gateway, OPEN, policy(3))).toEqual({
      kind: 'error',
      error,
      reason: `${kind}: ${code}`,
      attempts: 1,
    });
    expect(gateway.openRequests).toHaveLength(1);
  });

  it('counts PLACED and DONE_PARTIAL as filled, without retrying', async () => {
    const placed = new ScriptedGateway([Retcode.PLACED]);
    expect(await executeOpenOrder(placed, OPEN, policy(3))).toMatchObject({
      kind: 'filled',
      attempts: 1,
      result: { retcode: Retcode.PLACED },
    });
    const partial = new ScriptedGateway([Retcode.DONE_PARTIAL]);
    expect(await executeOpenOrder(partial, OPEN, policy(3))).toMatchObject({
      kind: 'filled',
      attempts: 1,
      result: { retcode: Retcode.DONE_PARTIAL },
    });
  });

  it('a close answered POSITION_CLOSED counts as already closed', async () => {
    const gateway = new ScriptedGateway([Retcode.POSITION_CLOSED]);
    const outcome = await executeClose(gateway, CLOSE, policy(3));
    expect(outcome).toMatchObject({
      kind: 'already_closed',
      attempts: 1,
      result: { retcode: Retcode.POSITION_CLOSED, request_id: 'h-def' },
    });
    expect(gateway.closeRequests).toEqual([CLOSE]);
  });

  it('a close answered POSITION_CLOSED after a transient error is still already closed', async () => {
    const gateway = new ScriptedGateway([unknownOutcome(), Retcode.POSITION_CLOSED]);
    expect(await executeClose(gateway, CLOSE, policy(3))).toMatchObject({
      kind: 'already_closed',
      attempts: 2,
    });
  });

  it('a close that fills is filled', async () => {
    const gateway = new ScriptedGateway([Retcode.DONE]);
    expect(await executeClose(gateway, { ...CLOSE, volume: 0.05 }, policy(3))).toMatchObject({
      kind: 'filled',
      attempts: 1,
    });
    expect(gateway.closeRequests).toEqual([{ request_id: 'h-def', ticket: 7, volume: 0.05 }]);
    expect(gateway.openRequests).toEqual([]);
  });
});

describe('positionWithRequestId', () => {
  const position = (ticket: number, comment: string): Position => ({
    ticket,
    symbol: 'EURUSD',
    type: 'buy',
    volume: 0.1,
    price_open: 1.09,
    price_current: 1.091,
    sl: 0,
    tp: 0,
    profit: 10,
    magic: 19019,
    comment,
    time: '2026-11-24T10:00:00.000Z',
  });

  it('finds the position whose comment is the request id', () => {
    const list = [position(5, 'o-other'), position(7, 'o-0123456789abcdef012345'), position(9, '')];
    expect(positionWithRequestId(list, 'o-0123456789abcdef012345')?.ticket).toBe(7);
  });

  it('matches a request id longer than 26 characters by the 26 the comment keeps', () => {
    const list = [position(8, 'x-0123456789abcdef01234567')];
    expect(positionWithRequestId(list, 'x-0123456789abcdef0123456789')?.ticket).toBe(8);
  });

  it('finds nothing when no comment matches, also not a prefix or a longer comment', () => {
    expect(positionWithRequestId([position(5, 'o-abc1'), position(6, 'o-ab')], 'o-abc')).toBeUndefined();
  });
});

describe('order executor: a halt or a stop ends the retries of an open', () => {
  it('sends no retry once the veto says why (a halt latched while the order waited out a REQUOTE)', async () => {
    const gateway = new ScriptedGateway([Retcode.REQUOTE, Retcode.DONE]);
    let halted = false;
    const p = policy(3);
    const sleep = p.sleep;
    p.sleep = async (ms: number) => {
      await sleep(ms);
      halted = true; // the cap triggers during the backoff
    };
    const outcome = await executeOpenOrder(gateway, OPEN, p, () => (halted ? 'halted' : undefined));
    expect(outcome).toMatchObject({ kind: 'error', reason: 'retry abandoned: halted', attempts: 1 });
    expect(gateway.openRequests).toHaveLength(1);
    expect(gateway.trades).toEqual([]);
  });

  it('retries as usual while the veto has nothing to say', async () => {
    const gateway = new ScriptedGateway([Retcode.REQUOTE, Retcode.DONE]);
    expect(await executeOpenOrder(gateway, OPEN, policy(3), () => undefined)).toMatchObject({
      kind: 'filled',
      attempts: 2,
    });
  });
});
