/**
 * What the rest of the process asks about ownership (docs/scale-out.md): whether it may trade an
 * account now and at which epoch (the fencing token of its writes and of its orders at the
 * bridge), and where to say that it learned of a loss. With files (one process) it owns every
 * account, always, and sends no token.
 */
export interface AccountOwnership {
  mayTrade(accountId: string): boolean;
  /** The epoch of the account's lease while held; undefined with files (no fencing token is sent). */
  epochOf(accountId: string): number | undefined;
  /**
   * The token every order and close to the account's bridge carries: its epoch while held, and
   * the last epoch held once lost, so that a late order of a process that lost the account is
   * refused by the bridge (a request without a token would pass as single-process mode).
   * Undefined with files, and for an account never owned here.
   */
  fencingToken(accountId: string): number | undefined;
  /** A write or a bridge refused the epoch: the account changed owner; stop trading it at once. */
  lostElsewhere(accountId: string, epoch: number, where: 'database' | 'bridge'): void;
}

export const ACCOUNT_OWNERSHIP = Symbol('ACCOUNT_OWNERSHIP');

/** The one process that owns every account, with files under STATE_DIR. */
export const SOLE_OWNERSHIP: AccountOwnership = {
  mayTrade: () => true,
  epochOf: () => undefined,
  fencingToken: () => undefined,
  lostElsewhere: () => undefined,
};
