import { ApprovalButtons, CommandAccess, commandArgument, telegramActor } from './telegram-command-rules';

describe('telegram command rules', () => {
  it('obeys only listed users, and nobody when the list is empty', () => {
    const access = new CommandAccess([111, 222], [{ id: 'default', allowedUserIds: [] }]);
    expect(access.isKnown(111)).toBe(true);
    expect(access.isKnown(333)).toBe(false);
    expect(access.isKnown(undefined)).toBe(false);
    expect(new CommandAccess([], [{ id: 'default', allowedUserIds: [] }]).isKnown(111)).toBe(false);
  });

  it('lets an operator command any account, naming it when there are several', () => {
    const access = new CommandAccess(
      [1],
      [
        { id: 'alice-01', allowedUserIds: [7] },
        { id: 'bob-mt5', allowedUserIds: [] },
      ],
    );
    expect(access.target(1, 'bob-mt5 news spike')).toEqual({ accountId: 'bob-mt5', rest: 'news spike' });
    expect(access.target(1, 'news spike')).toEqual({ refused: expect.stringContaining('name the account') });
  });

  it('lets an account user command that account only, without naming it when it is their only one', () => {
    const access = new CommandAccess(
      [1],
      [
        { id: 'alice-01', allowedUserIds: [7, 8] },
        { id: 'alice-02', allowedUserIds: [8] },
        { id: 'bob-mt5', allowedUserIds: [9] },
      ],
    );
    expect(access.target(7, 'news spike')).toEqual({ accountId: 'alice-01', rest: 'news spike' });
    expect(access.target(7, 'bob-mt5 news')).toEqual({ refused: 'you may not command account bob-mt5' });
    expect(access.mayCommand(7, 'bob-mt5')).toBe(false);
    // A user of two accounts names one.
    expect(access.target(8, 'news')).toEqual({ refused: expect.stringContaining('name the account') });
    expect(access.target(8, 'alice-02 news')).toEqual({ accountId: 'alice-02', rest: 'news' });
    expect(access.target(42, '')).toEqual({ refused: 'you may not command any account' });
  });

  it('with one account, lets an operator command it without naming it (the single-account bot)', () => {
    const access = new CommandAccess([1], [{ id: 'default', allowedUserIds: [] }]);
    expect(access.target(1, 'news spike')).toEqual({ accountId: 'default', rest: 'news spike' });
    expect(access.target(1, '')).toEqual({ accountId: 'default', rest: '' });
  });

  it('puts a non-default account into the button and reads it back', () => {
    const buttons = new ApprovalButtons();
    const data = buttons.data('approve', 'sig-9', 'alice-01');
    expect(data).toBe('a:alice-01/sig-9');
    expect(buttons.parse(data)).toEqual({ action: 'approve', accountId: 'alice-01', signalId: 'sig-9' });
  });

  it('takes the argument after the command, with or without the bot name', () => {
    expect(commandArgument('/halt news spike')).toBe('news spike');
    expect(commandArgument('/halt@trading_bot   checked  ')).toBe('checked');
    expect(commandArgument('/status')).toBe('');
  });

  it('names the person by username and id, or id alone', () => {
    expect(telegramActor({ id: 111, username: 'alice' })).toBe('telegram:@alice(111)');
    expect(telegramActor({ id: 111 })).toBe('telegram:111');
  });

  it('carries a short signal id in the button itself', () => {
    const buttons = new ApprovalButtons();
    expect(buttons.data('approve', 'sig-001')).toBe('a:sig-001');
    expect(new ApprovalButtons().parse('r:sig-001')).toEqual({
      action: 'reject',
      accountId: 'default',
      signalId: 'sig-001',
    });
  });

  it('refers to a 64-character id by a short reference that fits Telegram’s 64 bytes', () => {
    const buttons = new ApprovalButtons();
    const id = 'x'.repeat(64);
    const data = buttons.data('approve', id);
    expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
    expect(buttons.data('reject', id)).toBe(data.replace(/^a/, 'r'));
    expect(buttons.parse(data)).toEqual({ action: 'approve', accountId: 'default', signalId: id });
    buttons.forget(id);
    expect(buttons.parse(data)).toBeUndefined();
  });

  it('ignores callback data that is not an approval button', () => {
    expect(new ApprovalButtons().parse('something else')).toBeUndefined();
  });
});
