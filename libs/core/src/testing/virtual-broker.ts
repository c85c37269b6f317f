import { fail, ok, type BrokerResult } from '../broker/broker-error';
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
import type { Scheduler } from '../time/scheduler';
import { positionFixture } from './position-fixture';
import { positionGoneResult } from './trade-result-fixture';

/** A five-digit FX pair: 100,000 units a lot, so one 0.00001 tick is worth 1 USD per lot. */
const EURUSD: SymbolInfo = {
  symbol: 'EURUSD',
  digits: 5,
  contract_size: 100_000,
  tick_size: 0.00001,
  tick_value: 1,
  volume_min: 0.01,
  volume_max: 100,
  volume_step: 0.01,
  bid: 1.085,
  ask: 1.0851,
};

/** How one call of the broker behaves once: answer after `ms`, or not at all, or with an error. */
export type Fault =
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'transient'; code?: string }
  | { kind: 'unknown_outcome'; executeFirst: boolean };

type Call = 'account' | 'positions' | 'deals' | 'symbol' | 'open' | 'close';

/**
 * A broker for virtual-time tests: an account the test drives (equity, positions), idempotent by
 * request id like the bridge, every call answering after `latencyMs` of scheduler time, and faults
 * scripted per call. It outlives the processes a test "crashes": it is the broker, not the service.
 */
export class VirtualBroker implements BrokerGateway {
  equity = 10_000;
  readonly open = new Map<number, Position>();
  readonly requests: { call: Call; id?: string; ticket?: number }[] = [];
  /** What `symbol()` answers; a symbol not here is a final `unknown_symbol`. */
  readonly symbols = new Map<string, SymbolInfo>([['EURUSD', EURUSD]]);
  private readonly stored = new Map<string, TradeResult>();
  private readonly faults: { call: Call; fault: Fault }[] = [];
  private nextTicket = 1;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly latencyMs = 5,
  ) {}

  /** The next `times` calls of this kind behave so. */
  failNext(call: Call, fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ call, fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  addPosition(over: Partial<Position> = {}): Position {
    const ticket = over.ticket ?? this.nextTicket++;
    const position = positionFixture({
      ticket,
      comment: `seeded-${ticket}`,
      time: new Date(0).toISOString(),
      ...over,
    });
    this.open.set(ticket, position);
    return position;
  }

  closesSent(): string[] {
    return this.requests.filter((r) => r.call === 'close').map((r) => r.id ?? '');
  }

  ordersSent(): string[] {
    return this.requests.filter((r) => r.call === 'open').map((r) => r.id ?? '');
  }

  health(): Promise<BrokerResult<BrokerHealth>> {
    return Promise.resolve(ok({ connected: true }));
  }

  account(): Promise<BrokerResult<AccountInfo>> {
    return this.answer('account', undefined, () =>
      ok({
        login: 1,
        currency: 'USD',
        balance: this.equity,
        equity: this.equity,
        margin: 0,
        margin_free: this.equity,
        server_time: '',
      }),
    );
  }

  positions(): Promise<BrokerResult<Position[]>> {
    return this.answer('positions', undefined, () => ok([...this.open.values()].map((p) => ({ ...p }))));
  }

  deals(): Promise<BrokerResult<Deal[]>> {
    return this.answer('deals', undefined, () => ok([]));
  }

  symbol(name: string): Promise<BrokerResult<SymbolInfo>> {
    return this.answer('symbol', undefined, () => {
      const info = this.symbols.get(name);
      return info === undefined ? fail('final', 'unknown_symbol', `no symbol ${name}`) : ok({ ...info });
    });
  }

  openPosition(request: OpenOrderRequest): Promise<BrokerResult<TradeResult>> {
    return this.answer('open', request.request_id, () =>
      ok(this.idempotent(request.request_id, () => this.fill(request))),
    );
  }

  closePosition(request: ClosePositionRequest): Promise<BrokerResult<TradeResult>> {
    return this.answer('close', request.request_id, () =>
      ok(this.idempotent(request.request_id, () => this.closeNow(request))),
    );
  }

  private async answer<T>(
    call: Call,
    id: string | undefined,
    run: () => BrokerResult<T>,
  ): Promise<BrokerResult<T>> {
    this.requests.push({ call, ...(id === undefined ? {} : { id }) });
    const index = this.faults.findIndex((f) => f.call === call);
    const fault = index < 0 ? undefined : this.faults.splice(index, 1)[0]?.fault;
    if (fault?.kind === 'hang') return new Promise(() => undefined);
    await this.scheduler.sleep(fault?.kind === 'delay' ? fault.ms : this.latencyMs);
    if (fault?.kind === 'transient') return fail('transient', fault.code ?? 'http_503', 'scripted failure');
    if (fault?.kind === 'unknown_outcome') {
      if (fault.executeFirst) run();
      return fail('unknown_outcome', 'timeout', 'scripted lost answer');
    }
    return run();
  }

  private idempotent(id: string, execute: () => TradeResult): TradeResult {
    const seen = this.stored.get(id);
    if (seen !== undefined) return { ...seen };
    const result = { ...execute(), request_id: id };
    this.stored.set(id, result);
    return result;
  }

  private fill(request: OpenOrderRequest): TradeResult {
    const position = this.addPosition({
      symbol: request.symbol,
      type: request.type,
      volume: request.volume,
      magic: request.magic ?? 0,
      comment: (request.comment ?? request.request_id).slice(0, 26),
    });
    return {
      request_id: request.request_id,
      retcode: Retcode.DONE,
      order: position.ticket,
      deal: 1,
      position: position.ticket,
      volume: request.volume,
      price: 1.1,
      comment: '',
    };
  }

  private closeNow(request: ClosePositionRequest): TradeResult {
    const position = this.open.get(request.ticket);
    if (position === undefined) return positionGoneResult(request.request_id, request.ticket);
    this.open.delete(request.ticket);
    return {
      request_id: request.request_id,
      retcode: Retcode.DONE,
      order: 1,
      deal: 1,
      position: request.ticket,
      volume: position.volume,
      price: 1.1,
      comment: '',
    };
  }
}
