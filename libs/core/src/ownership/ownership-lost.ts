/**
 * A write refused because this process no longer holds the account's lease at the epoch it wrote
 * with (a fenced write, docs/scale-out.md). The account's runtime stops trading it at once and
 * never sends another order for it; the new owner carries on from the database.
 */
export class OwnershipLostError extends Error {
  override readonly name = 'OwnershipLostError';

  constructor(
    readonly accountId: string,
    /** Where it was found: the database refused a write, or a bridge refused a stale fencing token. */
    readonly where: 'database' | 'bridge' | 'renewal',
  ) {
    super(`ownership of account ${accountId} lost (${where})`);
  }
}

export function isOwnershipLost(error: unknown): error is OwnershipLostError {
  return error instanceof OwnershipLostError;
}
