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
  backoffDelay,
  BROKER_GATEWAY,
  DrawdownGuard,
  SCHEDULER,
  SignalIntake,
  type AlertSink,
  type BrokerGateway,
  type Cancel,
  type PendingApproval,
  type Scheduler,
} from '@app/core';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { ApprovalButtons, commandArgument, isAllowedUser, telegramActor } from './telegram-command-rules';
import { positionsText, statusText } from './telegram-status-text';

const MAX_POLL_BACKOFF_MS = 60_000;

/**
 * Bot commands over long polling (/status, /positions, /halt <reason>, /resume <note>) and, in
 * APPROVAL_MODE=manual, Approve/Reject buttons under each pending signal. Obeyed only from
 * TELEGRAM_ALLOWED_USER_IDS; anyone else is logged and ignored.
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

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BROKER_GATEWAY) private readonly broker: BrokerGateway,
    private readonly guard: DrawdownGuard,
    private readonly pipeline: SignalIntake,
    @Inject(ALERT_SINK) private readonly alerts: AlertSink,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
  ) {}

  onApplicationBootstrap(): void {
    const { botToken, chatId, apiRoot, allowedUserIds } = this.config.telegram;
    if (botToken === undefined || chatId === undefined) return;
    if (allowedUserIds.length === 0)
      this.logger.warn(
        'TELEGRAM_ALLOWED_USER_IDS is empty: bot commands and approval buttons are ignored from everyone',
      );
    if (this.config.signals.approvalMode === 'manual')
      this.pipeline.onPending((pending) => this.postForApproval(pending));

    const bot = new Telegraf(botToken, { telegram: { apiRoot }, handlerTimeout: 15_000 });
    bot.use(async (ctx, next) => {
      if (isAllowedUser(ctx.from?.id, allowedUserIds)) return next();
      this.logger.warn(
        { user_id: ctx.from?.id, username: ctx.from?.username, update_type: ctx.updateType },
        'telegram update from a user not in TELEGRAM_ALLOWED_USER_IDS ignored',
      );
    });
    bot.command('status', (ctx) =>
      this.reply(
        ctx,
        statusText(this.config.loopId, this.guard.snapshot(), this.pipeline.pendingApprovals().length),
      ),
    );
    bot.command('positions', async (ctx) => {
      const positions = await this.broker.positions();
      await this.reply(
        ctx,
        positions.ok ? positionsText(positions.value) : `Positions unavailable: ${positions.error.message}`,
      );
    });
    bot.command('halt', async (ctx) => {
      const reason = commandArgument(ctx.message.text) || 'halt from Telegram';
      const result = await this.guard.manualHalt(reason, telegramActor(ctx.from));
      await this.reply(
        ctx,
        result.alreadyHalted
          ? `Already halted: ${result.halt.reason}`
          : `Halting: ${result.halt.reason}. Closing every position.`,
      );
    });
    bot.command('resume', async (ctx) => {
      const result = await this.guard.resume(telegramActor(ctx.from), commandArgument(ctx.message.text));
      await this.reply(
        ctx,
        result.ok
          ? `Resumed; baseline equity ${result.baselineEquity.toFixed(2)}`
          : `Not resumed: ${result.message}`,
      );
    });
    bot.on('callback_query', async (ctx) => {
      const query = ctx.callbackQuery;
      const decision = 'data' in query ? this.buttons.parse(query.data) : undefined;
      if (decision === undefined) {
        await ctx.answerCbQuery('Unknown or expired button');
        return;
      }
      const by = telegramActor(ctx.from);
      const outcome =
        decision.action === 'approve'
          ? await this.pipeline.approvePending(decision.signalId, by)
          : await this.pipeline.rejectPending(decision.signalId, by);
      this.buttons.forget(decision.signalId);
      this.logger.log({ signal_id: decision.signalId, by, outcome }, 'telegram approval button');
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

  private postForApproval(pending: PendingApproval): void {
    const s = pending.signal;
    const stops = [s.sl === undefined ? '' : ` sl ${s.sl}`, s.tp === undefined ? '' : ` tp ${s.tp}`].join('');
    this.alerts.send({
      kind: 'approval_request',
      text: `Signal ${s.id} waits for approval: ${s.side} ${s.side === 'close' ? '' : `${s.volume} `}${s.instrument}${stops} (from ${s.source})`,
      buttons: [
        { text: 'Approve', data: this.buttons.data('approve', s.id) },
        { text: 'Reject', data: this.buttons.data('reject', s.id) },
      ],
    });
  }

  private async reply(ctx: Context, text: string): Promise<void> {
    await ctx.reply(text);
  }
}
