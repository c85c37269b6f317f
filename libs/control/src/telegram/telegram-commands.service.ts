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
  SCALE_OUT,
  SCHEDULER,
  type AccountCommand,
  type AccountRuntime,
  type AlertSink,
  type Cancel,
  type PendingApproval,
  type ScaleOut,
  type Scheduler,
} from '@app/core';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { ApprovalButtons, CommandAccess, commandArgument, telegramActor } from './telegram-command-rules';
import { positionsText, statusText } from './telegram-status-text';
import { OUTCOME_WAIT_MS } from '../accounts/remote-account-commands';

const MAX_POLL_BACKOFF_MS = 60_000;
/** The role under which one process of several polls the bot (docs/scale-out.md). */
const TELEGRAM_ROLE = 'telegram';

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
  private cancelRole: Cancel | undefined;
  /** False while another process holds the telegram role (shared accounts): no poll, no restart. */
  private mayPoll = true;
  private releaseRole: (() => Promise<void>) | undefined;

  private readonly access: CommandAccess;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounts: AccountRegistry,
    @Inject(ALERT_SINK) private readonly alerts: AlertSink,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(SCALE_OUT) private readonly scaleOut: ScaleOut | null,
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
      this.onAccount(
        ctx,
        ctx.message.text,
        async (runtime, rest) => {
          const result = await runtime.guard.manualHalt(
            rest || 'halt from Telegram',
            telegramActor(ctx.from),
          );
          return result.alreadyHalted
            ? `Already halted: ${result.halt.reason}`
            : `Halting: ${result.halt.reason}. Closing every position.`;
        },
        (scaleOut, accountId, rest) =>
          this.askOwner(scaleOut, accountId, {
            kind: 'halt',
            reason: rest || 'halt from Telegram',
            by: telegramActor(ctx.from),
          }),
      ),
    );
    bot.command('resume', (ctx) =>
      this.onAccount(
        ctx,
        ctx.message.text,
        async (runtime, rest) => {
          const result = await runtime.guard.resume(telegramActor(ctx.from), rest);
          return result.ok
            ? `Resumed; baseline equity ${result.baselineEquity.toFixed(2)}`
            : `Not resumed: ${result.message}`;
        },
        (scaleOut, accountId, rest) =>
          this.askOwner(scaleOut, accountId, {
            kind: 'resume',
            reviewedBy: telegramActor(ctx.from),
            note: rest,
          }),
      ),
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
    if (this.scaleOut === null || this.config.stateBackend.kind !== 'postgres') this.poll();
    else this.pollWhileHoldingTheRole(this.scaleOut, this.config.stateBackend);
  }

  /**
   * Shared accounts (docs/scale-out.md): the Bot API allows one poller per bot, so only the
   * process holding the `telegram` role polls; another takes the role when its holder stops
   * renewing it. Commands for an account another process owns go to that owner as commands.
   */
  private pollWhileHoldingTheRole(
    scaleOut: ScaleOut,
    lease: { leaseTtlMs: number; leaseRenewMs: number },
  ): void {
    this.mayPoll = false;
    const round = async () => {
      const held = await scaleOut.holdRole(TELEGRAM_ROLE, lease.leaseTtlMs).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'telegram role: the database did not answer');
        return false;
      });
      if (this.stopped) return;
      if (held && !this.mayPoll) {
        this.mayPoll = true;
        this.logger.log('telegram role taken: this process polls the bot');
        this.poll();
      } else if (!held && this.mayPoll) {
        this.mayPoll = false;
        this.logger.log('telegram role lost: another process polls the bot');
        this.stopPolling();
      }
    };
    const tick = () => void round();
    this.cancelRole = this.scheduler.every(lease.leaseRenewMs, tick);
    tick();
    this.releaseRole = () =>
      scaleOut
        .releaseRole(TELEGRAM_ROLE)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'telegram role: could not release it'));
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.cancelRole?.();
    this.stopPolling();
    await this.releaseRole?.();
  }

  private stopPolling(): void {
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
    if (bot === undefined || this.stopped || !this.mayPoll) return;
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
    if (this.stopped || !this.mayPoll) return;
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

  /** A halt or a resume of an account another process owns: written for its owner, whose answer is told. */
  private async askOwner(scaleOut: ScaleOut, accountId: string, command: AccountCommand): Promise<string> {
    const id = await scaleOut.requestCommand(accountId, command);
    const outcome = await scaleOut.commandOutcome(id, OUTCOME_WAIT_MS);
    if (outcome === undefined)
      return `Asked the owner of ${accountId} to ${command.kind}; not confirmed yet.`;
    if (command.kind === 'halt')
      return outcome.already_halted === true
        ? `Already halted: ${accountId}`
        : `Halting ${accountId}. Closing every position.`;
    return outcome.resumed === true
      ? `Resumed ${accountId}; baseline equity ${Number(outcome.baseline_equity).toFixed(2)}`
      : `Not resumed: ${String(outcome.message)}`;
  }

  /** Runs a command on the account it means (named first, or the user's only one), or says why not. */
  private async onAccount(
    ctx: Context,
    text: string,
    run: (runtime: AccountRuntime, rest: string) => string | Promise<string>,
    /** For an account another process owns (shared accounts): how to ask its owner. */
    remote?: (scaleOut: ScaleOut, accountId: string, rest: string) => Promise<string>,
  ): Promise<void> {
    const target = this.access.target(ctx.from?.id, commandArgument(text));
    const runtime = 'accountId' in target ? this.accounts.account(target.accountId) : undefined;
    if (runtime === undefined && 'accountId' in target && remote !== undefined && this.scaleOut !== null) {
      const known = this.config.accounts.some((account) => account.id === target.accountId);
      if (!known) {
        await ctx.reply('Not done: unknown account');
        return;
      }
      await ctx.reply(await remote(this.scaleOut, target.accountId, target.rest));
      return;
    }
    if (runtime === undefined || !('accountId' in target)) {
      await ctx.reply('refused' in target ? `Not done: ${target.refused}` : 'Not done: unknown account');
      return;
    }
    await ctx.reply(await run(runtime, target.rest));
  }
}
