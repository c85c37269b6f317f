/**
 * The pure rules of the Telegram bot commands: who is obeyed, what a command's argument is, and
 * how an approval button refers to its signal. No telegraf here, so each rule is unit-tested.
 */

/** Only users listed in TELEGRAM_ALLOWED_USER_IDS are obeyed; an empty list obeys nobody. */
export function isAllowedUser(userId: number | undefined, allowed: readonly number[]): boolean {
  return userId !== undefined && allowed.includes(userId);
}

/** `/halt news spike` → `news spike`; `/halt@my_bot  x ` → `x`; `/status` → ``. */
export function commandArgument(text: string): string {
  return text.replace(/^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/, '').trim();
}

/** How the person is named in the audit log and events (reviewed_by, approved_by). */
export function telegramActor(user: { id: number; username?: string | undefined }): string {
  return user.username === undefined ? `telegram:${user.id}` : `telegram:@${user.username}(${user.id})`;
}

export type ApprovalAction = 'approve' | 'reject';

/** Telegram caps callback_data at 64 bytes. */
const MAX_CALLBACK_DATA = 64;

/**
 * Callback data of the Approve/Reject buttons. A signal id short enough is carried as is (it
 * survives a restart); a longer one gets a short in-memory reference `#<n>`.
 */
export class ApprovalButtons {
  private readonly longIds = new Map<string, string>();
  private next = 1;

  data(action: ApprovalAction, signalId: string): string {
    const prefix = action === 'approve' ? 'a:' : 'r:';
    if (Buffer.byteLength(prefix + signalId) <= MAX_CALLBACK_DATA && !signalId.startsWith('#'))
      return prefix + signalId;
    let ref = [...this.longIds].find(([, id]) => id === signalId)?.[0];
    if (ref === undefined) {
      ref = `#${this.next++}`;
      this.longIds.set(ref, signalId);
    }
    return prefix + ref;
  }

  /** The action and signal id a button press means, or undefined when it is not ours (or expired). */
  parse(data: string): { action: ApprovalAction; signalId: string } | undefined {
    const match = /^([ar]):(.+)$/.exec(data);
    if (match === null) return undefined;
    const action: ApprovalAction = match[1] === 'a' ? 'approve' : 'reject';
    const ref = match[2];
    const signalId = ref.startsWith('#') ? this.longIds.get(ref) : ref;
    return signalId === undefined ? undefined : { action, signalId };
  }

  /** The decision is made: forget the long-id reference. */
  forget(signalId: string): void {
    for (const [ref, id] of this.longIds) if (id === signalId) this.longIds.delete(ref);
  }
}
