import { Telegraf } from 'telegraf';
import type { AlertButton } from '../alert';
import { classifyTelegramError } from './classify-telegram-error';
import type { SendFailure } from './send-failure';

export interface OutgoingMessage {
  chatId: string;
  text: string;
  buttons?: AlertButton[];
}

/** The port the alert channel sends through: one Bot API call, its failure as a value. */
export interface TelegramMessageSender {
  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendFailure | undefined>;
}

/** telegraf types the signal as its abort-controller polyfill; node-fetch 2 accepts the native one at runtime. */
type CallApiOptions = NonNullable<Parameters<Telegraf['telegram']['callApi']>[2]>;

/** Telegram's limit is 4096 characters; a longer alert is cut rather than refused for good. */
const MAX_TEXT = 4000;

/** The telegraf adapter: `sendMessage` through `callApi`, which takes the AbortSignal (telegraf's own timeout is 500 s). */
export class TelegrafMessageSender implements TelegramMessageSender {
  private readonly bot: Telegraf;

  constructor(botToken: string, apiRoot: string) {
    this.bot = new Telegraf(botToken, { telegram: { apiRoot } });
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendFailure | undefined> {
    const text = message.text.length > MAX_TEXT ? `${message.text.slice(0, MAX_TEXT)}…` : message.text;
    const buttons = message.buttons ?? [];
    try {
      await this.bot.telegram.callApi(
        'sendMessage',
        {
          chat_id: message.chatId,
          text,
          ...(buttons.length === 0
            ? {}
            : {
                reply_markup: {
                  inline_keyboard: [buttons.map((b) => ({ text: b.text, callback_data: b.data }))],
                },
              }),
        },
        { signal } as unknown as CallApiOptions,
      );
      return undefined;
    } catch (error) {
      return classifyTelegramError(error);
    }
  }
}
