import { ConflictException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import type { AccountCommand, CommandOutcome, ScaleOut } from '@app/core';

/** How long an admin call waits for the owner's outcome before it answers `*_requested`. */
export const OUTCOME_WAIT_MS = 5_000;

/**
 * With STATE_BACKEND=postgres an account may be owned by another process (docs/scale-out.md, Any
 * process answers): a halt or a resume is written to the database for its owner, which carries it
 * out at once; the call answers the owner's outcome, or `halt_requested` / `resume_requested`
 * when the owner has not answered within OUTCOME_WAIT_MS (the command stays, for whichever
 * process owns the account next).
 */
export async function askOwner(
  scaleOut: ScaleOut,
  accountId: string,
  command: AccountCommand,
): Promise<CommandOutcome> {
  // The database's accounts, not this process's: one it refused or has not read yet is still one.
  if (!(await scaleOut.owners()).some((row) => row.accountId === accountId))
    throw new NotFoundException({ status: 'refused', reason: 'unknown_account', account_id: accountId });
  const id = await scaleOut.requestCommand(accountId, command);
  const outcome = await scaleOut.commandOutcome(id, OUTCOME_WAIT_MS);
  if (outcome === undefined)
    return { account_id: accountId, state: `${command.kind}_requested`, command_id: id };
  if (command.kind === 'resume' && outcome.resumed === false) {
    const refusal = { status: 'refused', reason: outcome.reason, message: outcome.message };
    if (outcome.reason === 'not_halted') throw new ConflictException(refusal);
    throw new ServiceUnavailableException(refusal);
  }
  return outcome;
}

/** `scope: all` on any process: one command per account, the outcomes that came in time summed up. */
export async function askEveryOwner(
  scaleOut: ScaleOut,
  accountIds: readonly string[],
  command: AccountCommand,
): Promise<{ outcomes: CommandOutcome[]; pending: string[] }> {
  const ids = await Promise.all(accountIds.map((id) => scaleOut.requestCommand(id, command)));
  const outcomes = await Promise.all(ids.map((id) => scaleOut.commandOutcome(id, OUTCOME_WAIT_MS)));
  const done: CommandOutcome[] = [];
  const pending: string[] = [];
  outcomes.forEach((outcome, i) => {
    if (outcome === undefined) pending.push(accountIds[i] ?? '');
    else done.push(outcome);
  });
  return { outcomes: done, pending };
}
