import type { AccountRegistry } from '@app/core';
import { accountById } from '@app/common';
import type { AppConfig } from '@app/config';

/**
 * The account a history route reads: one this process trades, or, with shared accounts
 * (docs/scale-out.md), one of the configuration that another process owns now: history is in
 * the shared database, so any process answers. Unknown: 404.
 */
export function historyAccountId(registry: AccountRegistry, config: AppConfig, id: string): string {
  if (registry.account(id) !== undefined || config.accounts.some((account) => account.id === id)) return id;
  return accountById(registry, id).id;
}
