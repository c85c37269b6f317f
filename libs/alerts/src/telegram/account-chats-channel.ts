import type { Alert, AlertChannel } from '../alert';

/**
 * Alerts about an account to that account's Telegram chat (`telegram_chat_id`, docs/accounts.md),
 * besides the operator chat, which gets every alert through its own channel. One channel per chat,
 * made by `chatChannel` at the chat's first alert; accounts that share a chat share its channel
 * (its queue, its order, its retries).
 */
export class AccountChatsChannel implements AlertChannel {
  readonly name = 'telegram_accounts';
  private readonly chats = new Map<string, AlertChannel>();

  constructor(
    /** Account id to its chat; accounts without a chat are absent. */
    private readonly chatOf: ReadonlyMap<string, string>,
    /** The operator chat: an account whose chat it is gets each alert once, from the operator channel. */
    private readonly operatorChat: string | undefined,
    private readonly chatChannel: (chatId: string) => AlertChannel,
  ) {}

  async deliver(alert: Alert): Promise<void> {
    if (alert.accountId === undefined) return;
    const chatId = this.chatOf.get(alert.accountId);
    if (chatId === undefined || chatId === this.operatorChat) return;
    let channel = this.chats.get(chatId);
    if (channel === undefined) {
      channel = this.chatChannel(chatId);
      this.chats.set(chatId, channel);
    }
    await channel.deliver(alert);
  }

  async flush(timeoutMs: number): Promise<void> {
    await Promise.all(
      [...this.chats.values()].map((channel) => channel.flush?.(timeoutMs) ?? Promise.resolve()),
    );
  }

  close(): void {
    for (const channel of this.chats.values()) channel.close?.();
  }
}
