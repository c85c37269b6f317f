/** Cumulative counts since start, as the heartbeat reports them. */
export class TradingCounters {
  signals = 0;
  trades = 0;
  errors = 0;

  snapshot(): { signals: number; trades: number; errors: number } {
    return { signals: this.signals, trades: this.trades, errors: this.errors };
  }
}
