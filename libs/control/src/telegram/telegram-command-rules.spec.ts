import { ApprovalButtons, commandArgument, isAllowedUser, telegramActor } from './telegram-command-rules';

describe('telegram command rules', () => {
  it('obeys only listed users, and nobody when the list is empty', () => {
    expect(isAllowedUser(111, [111, 222])).toBe(true);
    expect(isAllowedUser(333, [111, 222])).toBe(false);
    expect(isAllowedUser(undefined, [111])).toBe(false);
    expect(isAllowedUser(111, [])).toBe(false);
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
    expect(new ApprovalButtons().parse('r:sig-001')).toEqual({ action: 'reject', signalId: 'sig-001' });
  });

  it('refers to a 64-character id by a short reference that fits Telegram’s 64 bytes', () => {
    const buttons = new ApprovalButtons();
    const id = 'x'.repeat(64);
    const data = buttons.data('approve', id);
    expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
    expect(buttons.data('reject', id)).toBe(data.replace(/^a/, 'r'));
    expect(buttons.parse(data)).toEqual({ action: 'approve', signalId: id });
    buttons.forget(id);
    expect(buttons.parse(data)).toBeUndefined();
  });

  it('ignores callback data that is not an approval button', () => {
    expect(new ApprovalButtons().parse('something else')).toBeUndefined();
  });
});
