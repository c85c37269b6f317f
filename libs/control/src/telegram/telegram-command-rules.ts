import { randomBytes } from 'node:crypto';

/**
 * The pure rules of the Telegram bot commands: who is obeyed, what a command's argument is, and
 * how an approval button refers to its signal. No telegraf here, so each rule is unit-tested.
 */

/** `/halt news spike` → `news spike`; `/halt@my_bot  x ` → `x`; `/status` → ``. */
export function commandArgument(text: string): string {
  return text.replace(/^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/, '').trim();
}

/** How the person is named in the audit log and events (reviewed_by, approved_by). */
export function telegramActor(user: { id: number; username?: string | undefined }): string {
  return user.username === undefined ? `telegram:${user.id}` : `telegram:@${user.username}(${user.id})`;
}

/**
 * Who may command which account (docs/accounts.md, Telegram): TELEGRAM_ALLOWED_USER_IDS (operators)
 * any account, an account's `telegram_allowed_user_ids` that account only.
 */
export class CommandAccess {
  private readonly operators: ReadonlySet<number>;
  private readonly byUser = new Map<number, string[]>();
  private readonly accounts: ReadonlySet<string>;

  constructor(
    operators: readonly number[],
    accounts: readonly { id: string; allowedUserIds: readonly number[] }[],
  ) {
    this.operators = new Set(operators);
    this.accounts = new Set(accounts.map((a) => a.id));
    for (const account of accounts)
      for (const user of account.allowedUserIds) {
        const list = this.byUser.get(user) ?? [];
        list.push(account.id);
        this.byUser.set(user, list);
      }
  }

  /** Anyone the bot listens to at all. */
  isKnown(userId: number | undefined): boolean {
    return userId !== undefined && (this.operators.has(userId) || this.byUser.has(userId));
  }

  mayCommand(userId: number | undefined, accountId: string): boolean {
    if (userId === undefined || !this.accounts.has(accountId)) return false;
    return this.operators.has(userId) || (this.byUser.get(userId)?.includes(accountId) ?? false);
  }

  /**
   * The account a command means and the rest of its argument: the account named first
   * (`/halt alice-01 news`), else the only account the user may command.
   */
  target(
    userId: number | undefined,
    argument: string,
  ): { accountId: string; rest: string } | { refused: string } {
    if (userId === undefined) return { refused: 'unknown user' };
    const [first = '', ...others] = argument.split(/\s+/);
    if (first !== '' && this.accounts.has(first)) {
      return this.mayCommand(userId, first)
        ? { accountId: first, rest: others.join(' ') }
        : { refused: `you may not command account ${first}` };
    }
    const mine = this.operators.has(userId) ? [...this.accounts] : (this.byUser.get(userId) ?? []);
    if (mine.length === 1) return { accountId: mine[0], rest: argument };
    return mine.length === 0
      ? { refused: 'you may not command any account' }
      : { refused: 'name the account first, e.g. /status <account> or /halt <account> <reason>' };
  }
}

export type ApprovalAction = 'approve' | 'reject';

/** Telegram caps callback_data at 64 bytes. */
const MAX_CALLBACK_DATA = 64;

/** The account of a button that names none (buttons of the single account, as before accounts existed). */
const DEFAULT_ACCOUNT = 'default';

/**
 * Callback data of the Approve/Reject buttons: `a:<signal>` for the account `default`,
 * `a:<account>/<signal>` for another (`/` is in neither id alphabet). Short enough, it is carried
 * as is (it survives a restart); longer, it gets a short in-memory reference `#<run>.<n>`. The
 * run part is random per process, so a button posted before a restart is unknown after it
 * (answered as expired), never another signal that happens to get the same number.
 */
export class ApprovalButtons {
  private readonly longIds = new Map<string, string>();
  private next = 1;
  private readonly run = randomBytes(4).toString('hex');

  data(action: ApprovalAction, signalId: string, accountId: string = DEFAULT_ACCOUNT): string {
    const prefix = action === 'approve' ? 'a:' : 'r:';
    const key = accountId === DEFAULT_ACCOUNT ? signalId : `${accountId}/${signalId}`;
    if (Buffer.byteLength(prefix + key) <= MAX_CALLBACK_DATA && !key.startsWith('#')) return prefix + key;
    let ref = [...this.longIds].find(([, id]) => id === key)?.[0];
    if (ref === undefined) {
      ref = `#${this.run}.${this.next++}`;
      this.longIds.set(ref, key);
    }
    return prefix + ref;
  }

  /** The action, account and signal a button press means, or undefined when it is not ours (or expired). */
  parse(data: string): { action: ApprovalAction; accountId: string; signalId: string } | undefined {
    const match = /^([ar]):(.+)$/.exec(data);
    if (match === null) return undefined;
    const action: ApprovalAction = match[1] === 'a' ? 'approve' : 'reject';
    const ref = match[2];
    const key = ref.startsWith('#') ? this.longIds.get(ref) : ref;
    if (key === undefined) return undefined;
    const slash = key.indexOf('/');
    return slash < 0
      ? { action, accountId: DEFAULT_ACCOUNT, signalId: key }
      : { action, accountId: key.slice(0, slash), signalId: key.slice(slash + 1) };
  }

  /** The decision is made: forget the long-id reference. */
  forget(signalId: string, accountId: string = DEFAULT_ACCOUNT): void {
    const key = accountId === DEFAULT_ACCOUNT ? signalId : `${accountId}/${signalId}`;
    for (const [ref, id] of this.longIds) if (id === key) this.longIds.delete(ref);
  }
}
