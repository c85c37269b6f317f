import type { Alert, AlertSink } from '../alerts/alert';
import type { EventSink } from '../events/event-sink.port';
import type { TradingEvent, TradingEventMap, TradingEventType } from '../events/trading-events';
import { cloneRiskState, type RiskState } from '../risk/risk-state';
import type { AuditEntry, AuditLog } from '../state/audit-log.port';
import type { RiskStateLoad, RiskStateStore } from '../state/risk-state-store.port';
import {
  accountLedger,
  type AccountSignalLedger,
  type SignalLedger,
  type SignalLedgerRecord,
  type SignalStatus,
  type SignalTargets,
} from '../state/signal-ledger.port';
import type { TradeSignal } from '../signals/trade-signal';
import type { Clock } from '../time/clock';
import type { Scheduler } from '../time/scheduler';

/**
 * What survives a crash of the service, for virtual-time tests: the risk state file, the audit
 * log and the signal ledger as the disk holds them. A test "crashes" a process by killing its
 * ports (`ProcessPorts.crash`) and starts the next one on the same durable state.
 */
export class DurableState {
  riskState: RiskState | undefined;
  readonly audit: AuditEntry[] = [];
  readonly ledger = new Map<string, SignalLedgerRecord[]>();
  /** The next `riskState.save` fails (a full disk). */
  failNextSaves = 0;
  /** How long a `riskState.save` takes (an fsync on a slow disk), in scheduler time. */
  saveDelayMs = 0;
  /** The next `ledger.update` calls fail (a shared account's lease lapsed for a moment, a full disk). */
  failNextLedgerUpdates = 0;
}

/**
 * One process's view of the durable state and of the outside world (events, alerts). Once
 * `crash()` is called, every port call of that process hangs for ever: the process is gone, and
 * nothing it had in flight reaches the disk, the log or Telegram.
 */
export class ProcessPorts {
  readonly events: TradingEvent[] = [];
  readonly alerts: Alert[] = [];
  private dead = false;
  /** Called before each port call with its name; a test may crash the process there. */
  beforeCall: (what: string) => void = () => undefined;

  constructor(
    readonly durable: DurableState,
    private readonly clock: Clock & Scheduler,
  ) {}

  crash(): void {
    this.dead = true;
  }

  get crashed(): boolean {
    return this.dead;
  }

  readonly riskState: RiskStateStore = {
    load: () =>
      this.call('riskState.load', (): RiskStateLoad =>
        this.durable.riskState === undefined
          ? { kind: 'absent' }
          : { kind: 'loaded', value: cloneRiskState(this.durable.riskState) },
      ),
    save: async (state) => {
      // Taken when the write starts; durable when it ends.
      const copy = cloneRiskState(state);
      if (this.durable.saveDelayMs > 0) await this.clock.sleep(this.durable.saveDelayMs);
      return this.call('riskState.save', () => {
        if (this.durable.failNextSaves > 0) {
          this.durable.failNextSaves--;
          throw new Error('ENOSPC: no space left on device');
        }
        this.durable.riskState = copy;
      });
    },
  };

  readonly audit: AuditLog = {
    append: (entry) => this.call('audit.append', () => void this.durable.audit.push({ ...entry })),
  };

  /** The process's ledger; `accountLedger` is the view one account's runtime gets. */
  readonly ledger: SignalLedger = {
    seen: (id: string) => this.durable.ledger.has(id),
    claim: (signal: TradeSignal, targets: SignalTargets, at: number) =>
      this.call('ledger.claim', () => {
        if (this.durable.ledger.has(signal.id)) return 'duplicate' as const;
        const status = targets.accepted.length > 0 ? 'accepted' : 'rejected';
        this.durable.ledger.set(signal.id, [
          {
            id: signal.id,
            status,
            at,
            signal,
            ...(targets.reason === undefined ? {} : { reason: targets.reason }),
          },
        ]);
        return 'claimed' as const;
      }),
    update: (_accountId: string, id: string, status: SignalStatus, at: number, details = {}) =>
      this.call('ledger.update', () => {
        if (this.durable.failNextLedgerUpdates > 0) {
          this.durable.failNextLedgerUpdates--;
          throw new Error('ledger write refused');
        }
        const records = this.durable.ledger.get(id) ?? [];
        records.push({ id, status, at, ...details });
        this.durable.ledger.set(id, records);
      }),
  };

  readonly accountLedger: AccountSignalLedger = accountLedger(this.ledger, 'default');

  readonly eventSink: EventSink = {
    publish: <K extends TradingEventType>(type: K, payload: TradingEventMap[K]) => {
      if (this.dead) return;
      this.events.push({ type, at: this.clock.now(), payload } as unknown as TradingEvent);
    },
  };

  readonly alertSink: AlertSink = {
    send: (alert) => {
      if (!this.dead) this.alerts.push(alert);
    },
  };

  eventsOf<K extends TradingEventType>(type: K): Extract<TradingEvent, { type: K }>[] {
    return this.events.filter((e): e is Extract<TradingEvent, { type: K }> => e.type === type);
  }

  private call<T>(what: string, run: () => T): Promise<T> {
    if (!this.dead) this.beforeCall(what);
    if (this.dead) return new Promise(() => undefined);
    try {
      return Promise.resolve(run());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
