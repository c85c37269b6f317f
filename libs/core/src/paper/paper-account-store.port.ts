import type { PaperAccount, PaperAccountOptions, PaperChange } from './paper-account';

/**
 * Where the paper account's changes go, so a restart cannot lose a fill or an automatic close.
 * Every change carries its number (`PaperChange.number`); a restart applies them in number order
 * up to the first number it does not find, so records may complete in any order. `record` is
 * called in the same tick as the call that made the change, several may be in flight at once (an
 * implementation may write them together), and a change whose record failed is recorded again,
 * unchanged; it resolves once the change is durable.
 */
export interface PaperAccountPersistence {
  record(change: PaperChange): Promise<void>;
  /** Makes everything recorded so far durable in its final form (e.g. compacts); later records fail. */
  close(): Promise<void>;
}

/**
 * One paper account's book (balance, positions, deals, request ids): files under the account's
 * directory with STATE_BACKEND=files, rows of PostgreSQL with STATE_BACKEND=postgres, so the book
 * follows the account to whichever process owns it (docs/scale-out.md). `open` restores the
 * account as it was after its last durable change (throwing, with the reason, when the book is
 * damaged: a fresh balance would forget open positions), then takes its changes until `close`.
 */
export interface PaperAccountStore extends PaperAccountPersistence {
  open(options: PaperAccountOptions): Promise<PaperAccount>;
}
