import { DEFAULT_SIGNAL_CHANNEL, type FanOutDirectory } from '../signals/signal-fan-out';
import type { AccountRuntime } from './account-runtime';

/** An account's status as the accounts API and `trading_accounts{state}` count it (docs/accounts.md). */
export type AccountStatus = 'running' | 'halted' | 'stale';

/**
 * The accounts this process trades, by id and by channel, in configuration order. One place
 * for the fan-out, the control surfaces and the heartbeat to find them.
 */
export class AccountRegistry implements FanOutDirectory {
  private readonly byId = new Map<string, AccountRuntime>();
  private readonly byChannel = new Map<string, AccountRuntime[]>();
  private readonly ordered: AccountRuntime[] = [];

  add(runtime: AccountRuntime): void {
    if (this.byId.has(runtime.id)) throw new Error(`account ${runtime.id} is registered twice`);
    this.byId.set(runtime.id, runtime);
    this.ordered.push(runtime);
    for (const channel of runtime.settings.channels) {
      const list = this.byChannel.get(channel) ?? [];
      list.push(runtime);
      this.byChannel.set(channel, list);
    }
  }

  /**
   * Takes an account out (with STATE_BACKEND=postgres, when this process stops owning it): from
   * then on the fan-out, the control surfaces and the heartbeat no longer see it here.
   */
  remove(id: string): AccountRuntime | undefined {
    const runtime = this.byId.get(id);
    if (runtime === undefined) return undefined;
    this.byId.delete(id);
    this.ordered.splice(this.ordered.indexOf(runtime), 1);
    for (const channel of runtime.settings.channels) {
      const list = this.byChannel.get(channel)?.filter((r) => r !== runtime) ?? [];
      if (list.length === 0) this.byChannel.delete(channel);
      else this.byChannel.set(channel, list);
    }
    return runtime;
  }

  account(id: string): AccountRuntime | undefined {
    return this.byId.get(id);
  }

  subscribers(channel: string = DEFAULT_SIGNAL_CHANNEL): readonly AccountRuntime[] {
    return this.byChannel.get(channel) ?? [];
  }

  all(): readonly AccountRuntime[] {
    return this.ordered;
  }

  get size(): number {
    return this.ordered.length;
  }

  /** The one account, when the process trades exactly one (the single-account routes address it). */
  single(): AccountRuntime | undefined {
    return this.ordered.length === 1 ? this.ordered[0] : undefined;
  }

  ready(): boolean {
    return this.ordered.every((runtime) => runtime.ready);
  }

  /** Halted wins over stale: a halted account needs a person whatever its heartbeat says. */
  stateOf(runtime: AccountRuntime, now: number): AccountStatus {
    if (runtime.isHalted()) return 'halted';
    return runtime.progress.isStale(now) ? 'stale' : 'running';
  }

  counts(now: number): Record<AccountStatus, number> & { total: number } {
    const counts = { total: this.ordered.length, running: 0, halted: 0, stale: 0 };
    for (const runtime of this.ordered) counts[this.stateOf(runtime, now)]++;
    return counts;
  }
}
