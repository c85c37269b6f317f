import { DEFAULT_ACCOUNT_ID, type AccountConfig } from '@app/config';
import { FileRiskStateStore } from './file-risk-state-store';

/**
 * An upgrade never resumes a halted account (docs/accounts.md): a STATE_DIR written by a
 * single-account service keeps that account's latch in its own `risk-state.json`, which only an
 * account named `default` reads. Accounts that leave `default` out would trade as if that halt
 * never happened, so the start is refused while it holds one (or one that cannot be read).
 * Returns why, or undefined.
 */
export async function legacyHaltProblem(
  stateDir: string,
  accounts: readonly AccountConfig[],
): Promise<string | undefined> {
  if (accounts.some((account) => account.id === DEFAULT_ACCOUNT_ID)) return undefined;
  const found = await new FileRiskStateStore(stateDir).load();
  if (found.kind === 'absent') return undefined;
  if (found.kind === 'damaged')
    return (
      `${stateDir}/risk-state.json (the single account of an earlier version) cannot be read (${found.problem}) ` +
      `and ACCOUNTS_FILE has no account \`${DEFAULT_ACCOUNT_ID}\` to keep it: add that account, or move the file away after a review`
    );
  const halt = (found.value as { halt?: unknown } | null)?.halt;
  if (halt === null || halt === undefined) return undefined;
  return (
    `${stateDir}/risk-state.json holds a halt of the single account of an earlier version, and ACCOUNTS_FILE has no ` +
    `account \`${DEFAULT_ACCOUNT_ID}\` to keep it: add an account \`${DEFAULT_ACCOUNT_ID}\` (it keeps that state and its halt), ` +
    `or resume it with the earlier version first`
  );
}
