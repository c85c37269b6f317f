import type { AlertSink } from '../alerts/alert';
import type { CoreLogger } from '../logging/core-logger.port';
import type { SignalLedger } from '../state/signal-ledger.port';
import type { Clock } from '../time/clock';
import type { TradeSignal } from './trade-signal';

/** The channel of a signal that names neither a channel nor accounts. */
export const DEFAULT_SIGNAL_CHANNEL = 'default';

/** One account as the fan-out sees it. */
export interface FanOutAccount {
  readonly id: string;
  isHalted(): boolean;
  /** The signal is claimed for this account: announce, approve, queue. */
  admit(signal: TradeSignal): Promise<void>;
  /** The signal is claimed as rejected for this account (halted when it arrived). */
  rejectHalted(signal: TradeSignal): void;
}

/** The process's accounts, by id and by channel. */
export interface FanOutDirectory {
  account(id: string): FanOutAccount | undefined;
  subscribers(channel: string): readonly FanOutAccount[];
  /** False until every account has loaded its latch and baselines: nobody knows yet who is halted. */
  ready(): boolean;
}

/**
 * How a signal was taken. `halted`: every target account is halted (recorded as rejected on each);
 * `unavailable`: not ready yet, or the ledger could not be written (not claimed: the sender may
 * retry); `no_target_accounts`: no account listens on its channel (nothing recorded);
 * `unknown_accounts`: it names accounts this service does not have (nothing recorded).
 */
export type FanOutOutcome =
  | { kind: 'accepted'; accounts: number }
  | { kind: 'duplicate' }
  | { kind: 'halted' }
  | { kind: 'stopping' }
  | { kind: 'unavailable' }
  | { kind: 'no_target_accounts' }
  | { kind: 'unknown_accounts'; ids: string[] };

export interface SignalFanOutPorts {
  ledger: SignalLedger;
  accounts: FanOutDirectory;
  stopping(): boolean;
  alerts: AlertSink;
  clock: Clock;
  logger: CoreLogger;
}

/**
 * Every signal source hands its signals here (docs/accounts.md, Signals and fan-out): find the
 * target accounts (the channel's subscribers, or the accounts it names), claim the signal for all
 * of them in one durable ledger record (at most once per (account, signal), across restarts),
 * then hand it to each account that is not halted; halted ones record it as rejected.
 */
export class SignalFanOut {
  /** Set from a failed ledger write until the next one lands: one alert per outage, not per signal. */
  private ledgerFailing = false;

  constructor(
    private readonly settings: { loopId: string; where: string },
    private readonly ports: SignalFanOutPorts,
  ) {}

  async submit(signal: TradeSignal): Promise<FanOutOutcome> {
    const { accounts } = this.ports;
    // Before every latch is loaded nobody knows which account is halted: take nothing yet.
    if (!accounts.ready()) return { kind: 'unavailable' };
    // A repeat is a duplicate whatever its accounts have become (one removed since, say).
    if (this.ports.ledger.seen(signal.id)) return { kind: 'duplicate' };
    // Accepting now would leave the signal to a later start, at a later price: refuse, unclaimed,
    // so the sender may send it again to whoever serves next.
    if (this.ports.stopping()) return { kind: 'stopping' };
    const targets = this.targets(signal);
    if (!Array.isArray(targets)) return targets;
    const open: FanOutAccount[] = [];
    const halted: FanOutAccount[] = [];
    for (const account of targets) (account.isHalted() ? halted : open).push(account);
    const claimed = await this.claim(signal, open, halted);
    if (claimed !== 'claimed') return { kind: claimed };
    // Each account gets the signal without the list of accounts it named (up to 10,000 ids):
    // the claim holds who trades it, and every pending approval would copy the list otherwise.
    const single: TradeSignal = { ...signal };
    delete single.accounts;
    for (const account of halted) account.rejectHalted(single);
    if (open.length === 0) return { kind: 'halted' };
    await Promise.all(open.map((account) => this.admit(account, single)));
    return { kind: 'accepted', accounts: open.length };
  }

  private targets(signal: TradeSignal): FanOutAccount[] | FanOutOutcome {
    const { accounts } = this.ports;
    if (signal.accounts !== undefined) {
      const found: FanOutAccount[] = [];
      const unknown: string[] = [];
      for (const id of signal.accounts) {
        const account = accounts.account(id);
        if (account === undefined) unknown.push(id);
        else found.push(account);
      }
      return unknown.length > 0 ? { kind: 'unknown_accounts', ids: unknown } : found;
    }
    const subscribed = accounts.subscribers(signal.channel ?? DEFAULT_SIGNAL_CHANNEL);
    return subscribed.length === 0 ? { kind: 'no_target_accounts' } : [...subscribed];
  }

  /**
   * One durable record for the signal and every target. A failed write (disk full, I/O error)
   * leaves the signal unclaimed: refused for the sender to retry, never accepted without a record.
   */
  private async claim(
    signal: TradeSignal,
    open: readonly FanOutAccount[],
    halted: readonly FanOutAccount[],
  ): Promise<'claimed' | 'duplicate' | 'unavailable'> {
    let claimed: 'claimed' | 'duplicate';
    try {
      claimed = await this.ports.ledger.claim(
        signal,
        {
          accepted: open.map((a) => a.id),
          rejected: halted.map((a) => a.id),
          ...(halted.length > 0 ? { reason: 'halted' } : {}),
        },
        this.ports.clock.now(),
      );
    } catch (error) {
      this.ports.logger.error(
        { err: error, signal_id: signal.id },
        'could not write the signal ledger; signal refused',
      );
      if (!this.ledgerFailing)
        this.ports.alerts.send({
          kind: 'state_untrusted',
          text: `Could not write the signal ledger under ${this.settings.where}: ${String(error)}. New signals are refused (503) until a write succeeds (after a failed rollback, until a restart).\nLoop ${this.settings.loopId}`,
        });
      this.ledgerFailing = true;
      return 'unavailable';
    }
    if (claimed === 'duplicate') return 'duplicate'; // known already: nothing was written
    if (this.ledgerFailing)
      this.ports.logger.warn({}, 'signal ledger written again after an earlier failure');
    this.ledgerFailing = false;
    return 'claimed';
  }

  /** One account's admission never stops the others': its failure is its own (logged; the signal stays unfinished there). */
  private async admit(account: FanOutAccount, signal: TradeSignal): Promise<void> {
    try {
      await account.admit(signal);
    } catch (error) {
      this.ports.logger.error(
        { err: error, signal_id: signal.id, account_id: account.id },
        'could not admit a claimed signal on an account; it is taken up again at the next start',
      );
    }
  }
}
