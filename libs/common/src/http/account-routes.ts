import { ConflictException, NotFoundException } from '@nestjs/common';
import type { AccountRegistry, AccountRuntime } from '@app/core';

/** The account of an account-scoped route: by id, or 404. */
export function accountById(registry: AccountRegistry, id: string): AccountRuntime {
  const runtime = registry.account(id);
  if (runtime === undefined)
    throw new NotFoundException({ status: 'refused', reason: 'unknown_account', account_id: id });
  return runtime;
}

/**
 * The account a single-account route (docs/service.md) addresses: the only one, or 409 when the
 * process trades several (docs/accounts.md: use the account-scoped route).
 */
export function onlyAccount(registry: AccountRegistry): AccountRuntime {
  const single = registry.single();
  if (single === undefined)
    throw new ConflictException({
      status: 'refused',
      reason: 'several_accounts',
      message: `this service trades ${registry.size} accounts: use /api/v1/accounts/:id/...`,
    });
  return single;
}
