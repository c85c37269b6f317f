import type { AlertSink } from '../alerts/alert';
import type { BrokerGateway } from '../broker/broker-gateway.port';
import type { Position } from '../broker/broker-types';
import type { EventSink } from '../events/event-sink.port';
import type { TradingEventMap } from '../events/trading-events';
import type { CoreLogger } from '../logging/core-logger.port';
import { roundMoney } from '../numbers/output-precision';
import { closeReason } from './close-reason';
import { OwnPositionsWatch } from './own-positions-watch';

/** Checks a gone position is looked up before its reason is given up on (one per equity check). */
const MAX_LOOKUPS = 5;

/**
 * Says why a position the service opened disappeared without the service closing it
 * (`position_closed`, docs/service.md): after every list of positions, the service's positions
 * that are gone are looked up in the broker's deal history, paper and bridge alike. A stop-out or
 * a close by someone else is also an alert: somebody should know the account moved under the bot.
 */
export class ClosedPositionReporter {
  private readonly watch: OwnPositionsWatch;
  private readonly gone = new Map<number, { position: Position; lookups: number }>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly broker: BrokerGateway,
    private readonly magic: number,
    private readonly events: EventSink,
    private readonly alerts: AlertSink,
    private readonly logger: CoreLogger,
    /** Positions this process closed itself and already knows about: no lookup needed. */
    private readonly closedHere: (position: Position) => boolean,
    private readonly loopId: string,
  ) {
    this.watch = new OwnPositionsWatch(magic);
  }

  /** After every list of positions; the lookups run behind the caller. */
  observe(listed: readonly Position[]): void {
    // Listed again: it was only missing from one list (a terminal reconnecting), it is open.
    for (const position of listed) this.gone.delete(position.ticket);
    for (const position of this.watch.observe(listed))
      if (!this.closedHere(position)) this.gone.set(position.ticket, { position, lookups: 0 });
    if (this.gone.size > 0 && this.running === undefined)
      this.running = this.lookUp().finally(() => (this.running = undefined));
  }

  /** A position the service's own order opened (so one that closes before the next list is not missed). */
  track(position: Position): void {
    this.watch.track(position);
  }

  /** Resolves once the lookups in flight are done (tests, shutdown). */
  async settled(): Promise<void> {
    await this.running;
  }

  private async lookUp(): Promise<void> {
    for (const [ticket, entry] of [...this.gone]) {
      entry.lookups++;
      const deals = await this.broker.deals(ticket);
      const found = deals.ok ? closeReason(deals.value, this.magic) : undefined;
      if (found !== undefined && found.reason !== 'pending') {
        this.gone.delete(ticket);
        if (found.reason === 'service') continue;
        const { deal } = found;
        this.report(entry.position, {
          reason: found.reason,
          price: deal?.price ?? entry.position.price_current,
          profit: deal === undefined ? null : roundMoney(deal.profit),
        });
        continue;
      }
      if (entry.lookups < MAX_LOOKUPS) continue; // the next check asks again
      this.gone.delete(ticket);
      const detail = deals.ok
        ? 'no closing deal in the broker history'
        : `deals unavailable: ${deals.error.code}`;
      this.logger.warn({ ticket, detail }, 'a position of the service is gone and why is unknown');
      this.report(entry.position, {
        reason: 'external',
        price: entry.position.price_current,
        profit: roundMoney(entry.position.profit),
        detail,
      });
    }
  }

  private report(
    position: Position,
    how: Pick<TradingEventMap['position_closed'], 'reason' | 'price' | 'profit' | 'detail'>,
  ): void {
    this.events.publish('position_closed', {
      ticket: position.ticket,
      symbol: position.symbol,
      side: position.type,
      volume: position.volume,
      ...how,
    });
    if (how.reason !== 'stop_out' && how.reason !== 'external') return;
    // Without a closing deal nobody knows who closed it: say so, accuse no one.
    const what =
      how.reason === 'stop_out'
        ? 'by a margin stop-out'
        : how.detail === undefined
          ? 'by someone other than the bot'
          : 'without the bot, and the broker could not say by whom';
    this.alerts.send({
      kind: 'position_closed',
      text: `Position ${position.ticket} (${position.symbol} ${position.type} ${position.volume}) was closed ${what}${how.profit === null ? '' : `; profit ${how.profit.toFixed(2)}`}\nLoop ${this.loopId}${how.detail === undefined ? '' : `; ${how.detail}`}`,
    });
  }
}
