/**
 * docs/scale-out.md, Any process answers: `POST /api/v1/halt` with `scope: all` reaches every
 * account of the database, whichever process owns it, and a per-account halt works on every
 * process for every account: both from the database's rows, not the receiving process's own set
 * (which lacks a row it cannot parse, a secret its environment lacks, or has not read yet).
 */
import { AccountRegistry, type AccountCommand, type ScaleOut } from '@app/core';
import { HaltController } from './halt.controller';
import { AccountsController } from './accounts/accounts.controller';

/** The database holds accounts a and b; b is traded by another process. */
function fakeScaleOut(requested: string[]) {
  return {
    requestCommand: (accountId: string, _command: AccountCommand) => {
      requested.push(accountId);
      return Promise.resolve(requested.length);
    },
    commandOutcome: () => Promise.resolve(undefined),
    owners: () =>
      Promise.resolve([
        { accountId: 'a', owner: 'P1', epoch: 1 },
        { accountId: 'b', owner: 'P2', epoch: 4 },
      ]),
  } as unknown as ScaleOut;
}

describe('halts asked on a process that cannot parse (or has not yet read) an account', () => {
  it('scope: all halts every account of the database', async () => {
    const requested: string[] = [];
    // This process refused row b (its environment lacks b's secret): it owns nothing here.
    const controller = new HaltController(new AccountRegistry(), fakeScaleOut(requested));
    await controller.halt({ scope: 'all' });
    expect(requested.sort()).toEqual(['a', 'b']);
  });

  it('POST /accounts/b/halt on this process reaches the owner of b instead of answering 404', async () => {
    const requested: string[] = [];
    const controller = new AccountsController(
      { accounts: [] } as never,
      { now: () => 0 },
      new AccountRegistry(),
      {} as never,
      fakeScaleOut(requested),
    );
    const answer = await controller.halt('b', {}).catch((error: unknown) => error);
    expect(requested).toEqual(['b']);
    expect(answer).toMatchObject({ state: 'halt_requested' });
  });
});
