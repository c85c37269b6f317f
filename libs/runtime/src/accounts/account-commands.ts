import type { AccountCommand, AccountRuntime, CommandOutcome } from '@app/core';

/**
 * Carries out a halt, a resume or a delete asked on any process (docs/scale-out.md, Any process
 * answers) on the account this process owns, and answers what the admin API would have answered
 * had it been asked here. A `scope: all` resume lifts only a halt a `scope: all` halt latched.
 */
export async function carryOutCommand(
  runtime: AccountRuntime,
  command: AccountCommand,
  rows: { deleteAccount(accountId: string): Promise<boolean> },
): Promise<CommandOutcome> {
  const account_id = runtime.id;
  if (command.kind === 'halt') {
    const result = await runtime.guard.manualHalt(command.reason, command.by, command.scope ?? 'account');
    return { account_id, state: 'halted', already_halted: result.alreadyHalted, halt_id: result.halt.id };
  }
  if (command.kind === 'delete') {
    // Only a flat account goes: its positions would be left with nobody watching them.
    const positions = await runtime.broker.positions();
    if (!positions.ok)
      return {
        account_id,
        deleted: false,
        reason: 'positions_unavailable',
        message: positions.error.message,
      };
    if (positions.value.length > 0)
      return {
        account_id,
        deleted: false,
        reason: 'open_positions',
        open_positions: positions.value.length,
        message: `${positions.value.length} open position(s): close them first`,
      };
    // Flat now; halted first, so that no order in flight or queued opens one between this check
    // and the removal: checked again under the halt. Refused then, it stays halted for a person.
    await runtime.guard.manualHalt('being deleted', command.by);
    const again = await runtime.broker.positions();
    if (!again.ok || again.value.length > 0)
      return {
        account_id,
        deleted: false,
        reason: again.ok ? 'open_positions' : 'positions_unavailable',
        message: 'a position appeared while deleting: the account stays halted, for a person to review',
      };
    return { account_id, deleted: await rows.deleteAccount(account_id) };
  }
  if (command.scope === 'all' && runtime.guard.snapshot().halt?.scope !== 'all')
    return runtime.isHalted()
      ? { account_id, resumed: false, reason: 'not_bulk_halt', message: 'halted for its own reason' }
      : { account_id, resumed: false, reason: 'not_halted', message: 'not halted' };
  const result = await runtime.guard.resume(command.reviewedBy, command.note);
  return result.ok
    ? { account_id, resumed: true, state: 'running', baseline_equity: result.baselineEquity }
    : { account_id, resumed: false, reason: result.code, message: result.message };
}
