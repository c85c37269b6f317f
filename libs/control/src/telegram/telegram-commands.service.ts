import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Telegraf, type Context } from 'telegraf';
import {
  ALERT_SINK,
  AccountRegistry,
  backoffDelay,
  SCHEDULER,
  type AccountRuntime,
  type AlertSink,
  type Cancel,
  type PendingApproval,
  type Scheduler,
} from '@app/core';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { ApprovalButtons, CommandAccess, commandArgument, telegramActor } from './telegram-command-rules';
import { positionsText, statusText } from './telegram-status-text';

const MAX_POLL_BACKOFF_MS = 60_000;

/**
 * Bot commands over long polling (/status, /positions, /halt <reason>, /resume <note>) and, for
 * accounts in manual approval mode, Approve/Reject buttons under each pending signal. Obeyed from
 * TELEGRAM_ALLOWED_USER_IDS for any account, and from an account's `telegram_allowed_user_ids`
 * for that account only (docs/accounts.md); a command names its account first when the user may
 * command several (`/halt alice-01 news`). Anyone else is logged and ignored.
 *
 * telegraf's `launch()` resolves only when polling ends and rejects on a failed getMe,
 * deleteWebhook or a fatal getUpdates answer; it is never awaited, and a failure restarts
 * polling with backoff instead of becoming an unhandled rejection that kills the process.
 */
@Injectable()
export class TelegramCommandsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('TelegramCommands');
  private readonly buttons = new ApprovalButtons();
  private bot: Telegraf | undefined;
  private stopped = false;
  private pollFailures = 0;
  private cancelRestart: Cancel | undefined;

  private readonly access: CommandAccess;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounts: AccountRegistry,
    @Inject(ALERT_SINK) private readonly alerts: AlertSink,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
  ) {
    this.access = new CommandAccess(
      config.telegram.allowedUserIds,
      config.accounts.map((account) => ({ id: account.id, allowedUserIds: account.telegram.allowedUserIds })),
    );
  }

  onApplicationBootstrap(): void {
    const { botToken, chatId, apiRoot, allowedUserIds } = this.config.telegram;
    const accountChats = this.config.accounts.some((account) => account.telegram.chatId !== undefined);
    if (botToken === undefined || (chatId === undefined && !accountChats)) return;
    if (
      allowedUserIds.length === 0 &&
      this.config.accounts.every((a) => a.telegram.allowedUserIds.length === 0)
    )
      this.logger.warn(
        'TELEGRAM_ALLOWED_USER_IDS is empty (and no account names users): bot commands and approval buttons are ignored from everyone',
      );
    for (const runtime of this.accounts.all())
      if (runtime.settings.signals.approvalMode === 'manual')
        runtime.intake.onPending((pending) => this.postForApproval(runtime, pending));

    const bot = new Telegraf(botToken, { telegram: { apiRoot }, handlerTimeout: 15_000 });
    bot.use(async (ctx, next) => {
      if (this.access.isKnown(ctx.from?.id)) return next();
      this.logger.warn(
        { user_id: ctx.from?.id, username: ctx.from?.username, update_type: ctx.updateType },
        'telegram update from a user allowed on no account ignored',
      );
    });
    bot.command('status', (ctx) =>
      this.onAccount(ctx, ctx.message.text, (runtime) =>
        statusText(
          this.config.loopId,
          runtime.guard.snapshot(),
          runtime.intake.pendingApprovals().length,
          this.accounts.size > 1 ? runtime.id : undefined,
        ),
      ),
    );
    bot.command('positions', (ctx) =>
      this.onAccount(ctx, ctx.message.text, async (runtime) => {
        const positions = await runtime.broker.positions();
        return positions.ok
          ? positionsText(positions.value)
          : `Positions unavailable: ${positions.error.message}`;
      }),
    );
    bot.command('halt', (ctx) =>
      this.onAccount(ctx, ctx.message.text, async (runtime, rest) => {
        const result = await runtime.guard.manualHalt(rest || 'halt from Telegram', telegramActor(ctx.from));
        return result.alreadyHalted
          ? `Already halted: ${result.halt.reason}`
          : `Halting: ${result.halt.reason}. Closing every position.`;
      }),
    );
    bot.command('resume', (ctx) =>
      this.onAccount(ctx, ctx.message.text, async (runtime, rest) => {
        const result = await runtime.guard.resume(telegramActor(ctx.from), rest);
        return result.ok
          ? `Resumed; baseline equity ${result.baselineEquity.toFixed(2)}`
          : `Not resumed: ${result.message}`;
      }),
    );
    bot.on('callback_query', async (ctx) => {
      const query = ctx.callbackQuery;
      const decision = 'data' in query ? this.buttons.parse(query.data) : undefined;
      const runtime = decision === undefined ? undefined : this.accounts.account(decision.accountId);
      if (decision === undefined || runtime === undefined) {
        await ctx.answerCbQuery('Unknown or expired button');
        return;
      }
      if (!this.access.mayCommand(ctx.from.id, runtime.id)) {
        await ctx.answerCbQuery(`You may not decide for account ${runtime.id}`);
        return;
      }
      const by = telegramActor(ctx.from);
      const outcome =
        decision.action === 'approve'
          ? await runtime.intake.approvePending(decision.signalId, by)
          : await runtime.intake.rejectPending(decision.signalId, by);
      this.buttons.forget(decision.signalId, runtime.id);
      this.logger.log(
        { account_id: runtime.id, signal_id: decision.signalId, by, outcome },
        'telegram approval button',
      );
      await ctx.answerCbQuery(
        outcome === 'not_pending' ? 'No longer pending' : `Signal ${decision.signalId} ${outcome}`,
      );
      await ctx
        .editMessageReplyMarkup(undefined)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'could not remove the approval buttons'));
    });
    bot.catch((error, ctx) =>
      this.logger.error({ err: error, update_type: ctx.updateType }, 'telegram command failed'),
    );
    this.bot = bot;
    this.poll();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.cancelRestart?.();
    try {
      this.bot?.stop('application closing');
    } catch (error) {
      // telegraf throws "Bot is not running!" between a failed launch and its restart: nothing to stop.
      this.logger.debug({ err: error }, 'telegram polling was not running');
    }
  }

  private poll(): void {
    const bot = this.bot;
    if (bot === undefined || this.stopped) return;
    bot
      .launch({ allowedUpdates: ['message', 'callback_query'] }, () => {
        this.pollFailures = 0;
        this.logger.log('telegram bot commands: long polling started');
      })
      .then(
        () => this.restartPolling(new Error('long polling ended')),
        (error: unknown) => this.restartPolling(error),
      );
  }

  private restartPolling(error: unknown): void {
    if (this.stopped) return;
    this.pollFailures++;
    const delayMs = backoffDelay(
      { baseDelayMs: 1000, maxDelayMs: MAX_POLL_BACKOFF_MS, jitter: 'none' },
      this.pollFailures - 1,
    );
    this.logger.error(
      { err: error, failures: this.pollFailures, retry_in_ms: delayMs },
      'telegram long polling failed; restarting it',
    );
    this.cancelRestart = this.scheduler.after(delayMs, () => this.poll());
  }

  private postForApproval(runtime: AccountRuntime, pending: PendingApproval): void {
    const s = pending.signal;
    const stops = [s.sl === undefined ? '' : ` sl ${s.sl}`, s.tp === undefined ? '' : ` tp ${s.tp}`].join('');
    const account = this.accounts.size > 1 ? ` on account ${runtime.id}` : '';
    this.alerts.send({
      kind: 'approval_request',
      accountId: runtime.id,
      text: `Signal ${s.id} waits for approval${account}: ${s.side} ${s.side === 'close' ? '' : `${s.volume} `}${s.instrument}${stops} (from ${s.source})`,
      buttons: [
        { text: 'Approve', data: this.buttons.data('approve', s.id, runtime.id) },
        { text: 'Reject', data: this.buttons.data('reject', s.id, runtime.id) },
      ],
    });
  }

  /** Runs a command on the account it means (named first, or the user's only one), or says why not. */
  private async onAccount(
    ctx: Context,
    text: string,
    run: (runtime: AccountRuntime, rest: string) => string | Promise<string>,
  ): Promise<void> {
    const target = this.access.target(ctx.from?.id, commandArgument(text));
    const runtime = 'accountId' in target ? this.accounts.account(target.accountId) : undefined;
    if (runtime === undefined || !('accountId' in target)) {
      await ctx.reply('refused' in target ? `Not done: ${target.refused}` : 'Not done: unknown account');
      return;
    }
    await ctx.reply(await run(runtime, target.rest));
  }
}
