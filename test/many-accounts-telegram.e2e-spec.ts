import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeTelegram, type FakeTelegram } from './fakes/fake-telegram';
import { startTestApp, type TestApp } from './support/test-app';

const SECRET = 'inbox-secret-for-many-accounts-telegram';
const OPERATOR = 111;
const ALICE_USER = 4242;
const BOB_USER = 5353;
const ALICE_CHAT = '-100111';
const BOB_CHAT = '-100222';

/**
 * Telegram with several accounts (docs/accounts.md, `telegram_chat_id`, `telegram_allowed_user_ids`):
 * an account's users command that account only, the operator (TELEGRAM_ALLOWED_USER_IDS) any
 * account, naming it; an account's alerts go to its own chat and the operator chat, never to
 * another account's chat.
 */
describe('many accounts: Telegram commands and alerts scoped per account', () => {
  let telegram: FakeTelegram;
  let t: TestApp;

  beforeEach(async () => {
    telegram = await startFakeTelegram();
    const dir = await mkdtemp(join(tmpdir(), 'accounts-telegram-'));
    const file = join(dir, 'accounts.yaml');
    await writeFile(
      file,
      [
        'accounts:',
        '  - id: alice',
        '    gateway: paper',
        `    telegram_chat_id: "${ALICE_CHAT}"`,
        `    telegram_allowed_user_ids: [${ALICE_USER}]`,
        '  - id: bob',
        '    gateway: paper',
        `    telegram_chat_id: "${BOB_CHAT}"`,
        `    telegram_allowed_user_ids: [${BOB_USER}]`,
        '',
      ].join('\n'),
    );
    t = await startTestApp({
      ...telegram.env,
      ACCOUNTS_FILE: file,
      TELEGRAM_ALLOWED_USER_IDS: String(OPERATOR),
      SIGNALS_HMAC_SECRET: SECRET,
    });
  });

  afterEach(async () => {
    await t?.close();
    await telegram?.close();
  });

  const stateOf = async (id: string) =>
    (await t.admin('GET', `/api/v1/accounts/${id}/status`)).body.account_state as string;

  it("obeys an account's user on that account only, the operator on any it names; alerts reach the account's chat and the operator's", async () => {
    // Alice's user halts with a reason and no account name: hers is the only account they may command.
    telegram.sendText(ALICE_USER, '/halt news spike');
    const halted = await t.waitForEvent('halted');
    expect(halted).toMatchObject({
      account_id: 'alice',
      payload: { source: 'manual', reason: `news spike (by telegram:@user${ALICE_USER}(${ALICE_USER}))` },
    });
    await telegram.waitForMessage((m) => m.text.startsWith('Halting: news spike'));
    expect(await stateOf('alice')).toBe('halted');
    expect(await stateOf('bob')).toBe('running');

    // The same user naming bob's account is refused, and bob trades on.
    telegram.sendText(ALICE_USER, '/halt bob x');
    const refused = await telegram.waitForMessage((m) => m.text.startsWith('Not done:'));
    expect(refused.text).toBe('Not done: you may not command account bob');
    await telegram.waitForUpdatesConsumed();
    expect(t.eventsOf('halted').filter((e) => e.account_id === 'bob')).toHaveLength(0);
    expect(await stateOf('bob')).toBe('running');

    // The operator's /status names the account asked for.
    telegram.sendText(OPERATOR, '/status bob');
    const bobStatus = await telegram.waitForMessage((m) => m.text.startsWith('State: running (account bob'));
    expect(bobStatus.text).toMatch(/^State: running \(account bob, loop test-loop\)/);
    telegram.sendText(OPERATOR, '/status alice');
    const aliceStatus = await telegram.waitForMessage((m) =>
      m.text.startsWith('State: halted (account alice'),
    );
    expect(aliceStatus.text).toContain('(manual): news spike');
    // Bob's user gets bob's status without naming it; the operator must name one (two accounts).
    telegram.sendText(BOB_USER, '/status');
    await telegram.waitForMessage((m) => m.text.startsWith('State: running (account bob') && m !== bobStatus);
    telegram.sendText(OPERATOR, '/status');
    const unnamed = await telegram.waitForMessage((m) =>
      m.text.startsWith('Not done: name the account first'),
    );
    expect(unnamed.text).toContain('/status <account>');

    // Alice's halt alert: to alice's chat and to the operator chat, not to bob's.
    const aliceHalt = (m: { text: string }) =>
      m.text.startsWith('Trading halted (manual): news spike') && m.text.endsWith('\nAccount alice');
    await telegram.waitForMessage((m) => aliceHalt(m) && m.chat_id === ALICE_CHAT);
    await telegram.waitForMessage((m) => aliceHalt(m) && m.chat_id === telegram.chatId);

    // Two more alerts, one per account, so that each account chat has had a later one delivered
    // (a chat's alerts go out in order): whatever was misrouted would be there by now.
    telegram.sendText(BOB_USER, '/halt drill');
    const bobHalt = (m: { text: string }) =>
      m.text.startsWith('Trading halted (manual): drill') && m.text.endsWith('\nAccount bob');
    await telegram.waitForMessage((m) => bobHalt(m) && m.chat_id === BOB_CHAT);
    telegram.sendText(ALICE_USER, '/resume checked');
    const aliceResume = (m: { text: string }) =>
      m.text.startsWith('Trading resumed by') && m.text.endsWith('\nAccount alice');
    await telegram.waitForMessage((m) => aliceResume(m) && m.chat_id === ALICE_CHAT);
    await telegram.waitForMessage((m) => aliceResume(m) && m.chat_id === telegram.chatId);
    await telegram.waitForMessage((m) => bobHalt(m) && m.chat_id === telegram.chatId);
    expect(await stateOf('alice')).toBe('running');

    const firstLines = (chat: string) =>
      telegram.messages.filter((m) => m.chat_id === chat).map((m) => m.text.split('\n')[0]);
    expect(firstLines(ALICE_CHAT)).toEqual([
      expect.stringMatching(/^Trading halted \(manual\): news spike/),
      expect.stringMatching(/^Trading resumed by telegram:@user4242\(4242\): checked/),
    ]);
    expect(firstLines(BOB_CHAT)).toEqual([expect.stringMatching(/^Trading halted \(manual\): drill/)]);
    // The operator chat has every alert (and the bot's replies, which go to the chat asked in).
    expect(
      telegram.messages.filter(
        (m) => m.chat_id === telegram.chatId && (aliceHalt(m) || bobHalt(m) || aliceResume(m)),
      ),
    ).toHaveLength(3);
  }, 30_000);
});
