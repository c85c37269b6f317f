import type { AccountConfig } from './account-config';

/** Which accounts came, changed or went at one replacement. */
export interface AccountConfigChange {
  added: string[];
  changed: string[];
  removed: string[];
}

/**
 * The accounts this service knows, by id. With files they are those of the configuration, for
 * the life of the process. With STATE_BACKEND=postgres they are the database's rows, which the
 * accounts API changes at run time (docs/scale-out.md): every process replaces its set when it
 * reads them, and the parts that care (the fan-out, the brokers, the owners) hear what changed.
 */
export class AccountConfigs {
  private byId: Map<string, AccountConfig>;
  private readonly listeners: ((change: AccountConfigChange) => void)[] = [];

  constructor(initial: readonly AccountConfig[]) {
    this.byId = new Map(initial.map((account) => [account.id, account]));
  }

  get(id: string): AccountConfig | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  all(): AccountConfig[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }

  onChange(listener: (change: AccountConfigChange) => void): void {
    this.listeners.push(listener);
  }

  /** Takes the new set whole; tells the listeners when anything differs. */
  replace(next: readonly AccountConfig[]): AccountConfigChange {
    const byId = new Map(next.map((account) => [account.id, account]));
    const change: AccountConfigChange = { added: [], changed: [], removed: [] };
    for (const [id, account] of byId) {
      const before = this.byId.get(id);
      if (before === undefined) change.added.push(id);
      else if (JSON.stringify(before) !== JSON.stringify(account)) change.changed.push(id);
    }
    for (const id of this.byId.keys()) if (!byId.has(id)) change.removed.push(id);
    this.byId = byId;
    if (change.added.length + change.changed.length + change.removed.length > 0)
      for (const listener of this.listeners) listener(change);
    return change;
  }
}
