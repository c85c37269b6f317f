import { fail, ok, type BrokerResult } from '../broker/broker-error';
import type { BrokerGateway } from '../broker/broker-gateway.port';
import type { ClosePositionRequest, Deal, Position, SymbolInfo, TradeResult } from '../broker/broker-types';
import { Retcode } from '../broker/retcodes';
import { silentLogger } from '../logging/core-logger.port';
import { ManualClock } from '../time/clock';
import { positionGoneResult } from '../testing/trade-result-fixture';
import { CloseAllPositions, type CloseAllReport } from './close-all-positions';

type Script = ('done' | 'reject' | 'timeout' | 'requote')[];

/** The calls a close-all never makes, or only to check the broker is there. */
abstract class CloseOnlyBroker implements BrokerGateway {
  async health() {
    return ok({ connected: true });
  }
  async account() {
    return ok({
      login: 1,
      currency: 'USD',
      balance: 1,
      equity: 1,
      margin: 0,
      margin_free: 1,
      server_time: '',
    });
  }
  async symbol(): Promise<BrokerResult<SymbolInfo>> {
    return fail('final', 'unknown_symbol', 'not part of this script');
  }
  async deals(): Promise<BrokerResult<Deal[]>> {
    return ok([]);
  }
  async openPosition(): Promise<BrokerResult<TradeResult>> {
    throw new Error('the close-all must never open');
  }
  abstract positions(): Promise<BrokerResult<Position[]>>;
  abstract closePosition(request: ClosePositionRequest): Promise<BrokerResult<TradeResult>>;
}

/** A broker whose closes follow a per-ticket script, recording every request id it was sent. */
class ScriptedBroker extends CloseOnlyBroker {
  readonly requests: ClosePositionRequest[] = [];
  listFailuresLeft = 0;
  constructor(
    private open: Position[],
    private readonly scripts: Map<number, Script>,
  ) {
    super();
  }
  async positions(): Promise<BrokerResult<Position[]>> {
    if (this.listFailuresLeft > 0) {
      this.listFailuresLeft--;
      return fail('transient', 'http_503', 'bridge busy');
    }
    return ok([...this.open]);
  }
  async closePosition(request: ClosePositionRequest): Promise<BrokerResult<TradeResult>> {
    this.requests.push(request);
    const step = this.scripts.get(request.ticket)?.shift() ?? 'done';
    const result = (retcode: number) =>
      ok({
        request_id: request.request_id,
        retcode,
        order: 1,
        deal: 1,
        position: request.ticket,
        volume: 0.1,
        price: 1,
        comment: '',
      });
    switch (step) {
      case 'timeout':
        return fail('unknown_outcome', 'timeout', 'no answer');
      case 'reject':
        return result(Retcode.REJECT);
      case 'requote':
        return result(Retcode.REQUOTE);
      case 'done':
        this.open = this.open.filter((p) => p.ticket !== request.ticket);
        return result(Retcode.DONE);
    }
  }
}

const position = (ticket: number): Position => ({
  ticket,
  symbol: 'EURUSD',
  type: 'buy',
  volume: 0.1,
  price_open: 1.1,
  price_current: 1.09,
  sl: 0,
  tp: 0,
  profit: -10,
  magic: 19019,
  comment: '',
  time: '',
});

const noSleep = { sleep: async () => undefined, random: () => 0.5 };
const logger = silentLogger;

describe('CloseAllPositions', () => {
  it('closes every listed position in one pass and reports it', async () => {
    const broker = new ScriptedBroker([1, 2, 3, 4, 5].map(position), new Map());
    const firstPass: CloseAllReport[] = [];
    const report = await new CloseAllPositions(broker, new ManualClock(), logger, noSleep).closeAll(
      'halt-1',
      { keepTrying: true, onFirstPass: (r) => firstPass.push(r) },
    );
    expect(report).toMatchObject({ closed: 5, failed: 0, remaining: 0 });
    expect(firstPass).toEqual([expect.objectContaining({ closed: 5, failed: 0 })]);
    expect(new Set(broker.requests.map((r) => r.request_id)).size).toBe(5);
  });

  it('remembers what it closed by comment, so a signal restored after a crash can still see its fill', async () => {
    const withComment = (ticket: number, comment: string): Position => ({ ...position(ticket), comment });
    const broker = new ScriptedBroker(
      [withComment(1, 'o-filled-before-crash'), withComment(2, 'o-refused'), withComment(3, '')],
      new Map<number, Script>([[2, ['reject', 'reject', 'reject', 'reject', 'reject', 'reject']]]),
    );
    const closer = new CloseAllPositions(broker, new ManualClock(), logger, noSleep);
    await closer.closeAll('halt-memo', { keepTrying: false, deadlineMs: 0 });
    expect(closer.closed.withRequestId('o-filled-before-crash')?.ticket).toBe(1);
    expect(closer.closed.withRequestId('o-refused')).toBeUndefined(); // still open: not closed
  });

  it('keeps going through rejections and timeouts, reports failures honestly, and never reports success early', async () => {
    const scripts = new Map<number, Script>([
      [2, ['reject', 'reject', 'done']],
      [4, ['timeout', 'timeout', 'timeout', 'timeout', 'done']],
    ]);
    const broker = new ScriptedBroker([1, 2, 3, 4, 5].map(position), scripts);
    const firstPass: CloseAllReport[] = [];
    const report = await new CloseAllPositions(broker, new ManualClock(), logger, noSleep).closeAll(
      'halt-2',
      { keepTrying: true, onFirstPass: (r) => firstPass.push(r) },
    );
    expect(firstPass[0]).toMatchObject({ closed: 3, failed: 2 });
    expect(firstPass[0].failures.map((f) => f.ticket).sort()).toEqual([2, 4]);
    expect(report).toMatchObject({ closed: 5, remaining: 0, failed: 0, retried: true });
    expect(report.rounds).toBeGreaterThan(1);
  });

  it('a close-all whose first pass closes everything has not retried, though it lists once more to confirm', async () => {
    const broker = new ScriptedBroker([1, 2].map(position), new Map());
    const report = await new CloseAllPositions(broker, new ManualClock(), logger, noSleep).closeAll(
      'halt-9',
      {
        keepTrying: true,
      },
    );
    expect(report).toMatchObject({ closed: 2, remaining: 0, rounds: 2, retried: false });
  });

  it('uses a new request id after a final refusal and the same one after a transient failure', async () => {
    const scripts = new Map<number, Script>([
      [7, ['reject', 'done']],
      [8, ['timeout', 'timeout', 'timeout', 'done']],
    ]);
    const broker = new ScriptedBroker([7, 8].map(position), scripts);
    await new CloseAllPositions(broker, new ManualClock(), logger, noSleep).closeAll('halt-3', {
      keepTrying: true,
    });
    const idsFor = (ticket: number) =>
      broker.requests.filter((r) => r.ticket === ticket).map((r) => r.request_id);
    const seven = idsFor(7);
    expect(seven).toHaveLength(2);
    expect(seven[0]).not.toBe(seven[1]);
    const eight = idsFor(8);
    expect(eight.length).toBe(4);
    expect(new Set(eight).size).toBe(1);
  });

  it('retries when the position list itself is unavailable', async () => {
    const broker = new ScriptedBroker([1, 2].map(position), new Map());
    broker.listFailuresLeft = 3;
    const report = await new CloseAllPositions(broker, new ManualClock(), logger, noSleep).closeAll(
      'halt-4',
      { keepTrying: true },
    );
    expect(report).toMatchObject({ closed: 2, remaining: 0 });
  });

  it('gives up at its deadline when told not to keep trying (graceful stop)', async () => {
    const clock = new ManualClock();
    const broker = new ScriptedBroker([1].map(position), new Map([[1, Array<'reject'>(100).fill('reject')]]));
    const sleep = async (ms: number) => clock.advance(ms);
    const report = await new CloseAllPositions(broker, clock, logger, { sleep, random: () => 0.5 }).closeAll(
      'stop',
      { keepTrying: false, deadlineMs: 3000 },
    );
    expect(report.remaining).toBe(1);
    expect(report.failed).toBe(1);
  });
});

describe('CloseAllPositions: cancelling a run', () => {
  it('stops at the next round once its signal is aborted, and other runs are not affected', async () => {
    const broker = new ScriptedBroker(
      [1, 2].map(position),
      new Map([[1, Array<'reject'>(100).fill('reject')]]),
    );
    const abort = new AbortController();
    let rounds = 0;
    const sleep = async () => {
      rounds++;
      if (rounds === 2) abort.abort();
    };
    const closer = new CloseAllPositions(broker, new ManualClock(), logger, { sleep, random: () => 0.5 });
    const report = await closer.closeAll('halt-5', { keepTrying: true, signal: abort.signal });
    expect(report.remaining).toBe(1);
    const closesBefore = broker.requests.length;
    // A new run on the same instance is not cancelled by the old signal.
    const other = await new CloseAllPositions(broker, new ManualClock(), logger, noSleep).closeAll('halt-6', {
      keepTrying: false,
      deadlineMs: 0,
    });
    expect(other.rounds).toBe(1);
    expect(broker.requests.length).toBeGreaterThan(closesBefore);
  });

  it('reports at once when the position list cannot be read, instead of waiting for it', async () => {
    const broker = new ScriptedBroker([1].map(position), new Map());
    broker.listFailuresLeft = 2;
    const firstPass: CloseAllReport[] = [];
    await new CloseAllPositions(broker, new ManualClock(), logger, noSleep).closeAll('halt-7', {
      keepTrying: true,
      onFirstPass: (r) => firstPass.push(r),
    });
    expect(firstPass).toHaveLength(1);
    expect(firstPass[0]).toMatchObject({ listUnavailable: true, closed: 0 });
  });
});

describe('CloseAllPositions: closes that fill in part, and positions already gone', () => {
  /** A bridge that fills half of every new close request and stores that answer under its id. */
  class PartialFills extends CloseOnlyBroker {
    readonly posts: string[] = [];
    private readonly stored = new Map<string, TradeResult>();
    constructor(private readonly open: Position[]) {
      super();
    }
    async positions(): Promise<BrokerResult<Position[]>> {
      return ok(this.open.filter((p) => p.volume > 0).map((p) => ({ ...p })));
    }
    async closePosition(request: ClosePositionRequest): Promise<BrokerResult<TradeResult>> {
      this.posts.push(request.request_id);
      const seen = this.stored.get(request.request_id);
      if (seen !== undefined) return ok({ ...seen });
      const p = this.open.find((x) => x.ticket === request.ticket);
      if (p === undefined || p.volume <= 0) return ok(positionGoneResult(request.request_id, request.ticket));
      const filled = p.volume <= 0.01 ? p.volume : Math.round((p.volume / 2) * 100) / 100;
      p.volume = Math.round((p.volume - filled) * 100) / 100;
      const result: TradeResult = {
        request_id: request.request_id,
        retcode: p.volume > 0 ? Retcode.DONE_PARTIAL : Retcode.DONE,
        order: 1,
        deal: 1,
        position: request.ticket,
        volume: filled,
        price: 1.09,
        comment: '',
      };
      this.stored.set(request.request_id, result);
      return ok({ ...result });
    }
  }

  it('a close that fills in part is followed by a new request id, with a pause, until the account is flat', async () => {
    const broker = new PartialFills([{ ...position(7), volume: 0.08 }]);
    const sleeps: number[] = [];
    const report = await new CloseAllPositions(broker, new ManualClock(), logger, {
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
    }).closeAll('halt-partial', { keepTrying: true });
    expect(report).toMatchObject({ remaining: 0, closed: 1, retried: true });
    // 0.08 -> 0.04 -> 0.02 -> 0.01 -> 0: four closes, each under its own id, none repeated.
    expect(broker.posts).toHaveLength(4);
    expect(new Set(broker.posts).size).toBe(4);
    expect(sleeps).toHaveLength(3);
  });

  it('a position the broker had closed already counts as flat, but not as closed by the service', async () => {
    const broker = new PartialFills([{ ...position(8), volume: 0 }]);
    const listed = { ...position(8), volume: 0.1, comment: 'o-gone-before-the-close' };
    broker.positions = async () => ok([listed]);
    const closer = new CloseAllPositions(broker, new ManualClock(), logger, noSleep);
    let first = true;
    const report = await closer.closeAll('halt-gone', {
      keepTrying: false,
      deadlineMs: 0,
      onFirstPass: () => {
        first = false;
      },
    });
    expect(first).toBe(false);
    expect(report.closed).toBe(1);
    expect(closer.closed.withRequestId(listed.comment)?.ticket).toBe(8);
    expect(closer.closed.closedByUs(listed.comment)).toBe(false);
  });
});
