import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { startHeartbeatWatchdog, type HeartbeatWatchdog } from '@app/alerts';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { SharedHeartbeatStamp } from './heartbeat-stamp';

/** pino levels at or below `info`: the worker writes its info lines only then (LOG_LEVEL respected). */
const LOGS_INFO: ReadonlySet<AppConfig['logLevel']> = new Set(['info', 'debug', 'trace']);

/**
 * Starts the heartbeat watchdog worker with the shared stamp and stops it when the app closes.
 * The worker alerts and logs on its own; what reaches this thread (after any freeze) is only
 * noted at debug, so the `heartbeat_stale` line is written once, by the worker.
 */
@Injectable()
export class HeartbeatWatchdogService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(HeartbeatWatchdogService.name);
  private watchdog: HeartbeatWatchdog | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly stamp: SharedHeartbeatStamp,
  ) {}

  onApplicationBootstrap(): void {
    const { botToken, chatId, apiRoot } = this.config.telegram;
    this.watchdog = startHeartbeatWatchdog({
      buffer: this.stamp.buffer,
      loopId: this.config.loopId,
      staleAfterMs: this.config.heartbeatStaleAfterMs,
      logFd: LOGS_INFO.has(this.config.logLevel) ? 1 : null,
      telegram: botToken !== undefined && chatId !== undefined ? { apiRoot, botToken, chatId } : null,
    });
    this.watchdog.onReport((report) => this.logger.debug({ report }, 'watchdog report'));
    this.watchdog.onError((error) =>
      this.logger.error(
        { err: error },
        'heartbeat watchdog worker failed; stale heartbeats are now only seen by /health/live',
      ),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.watchdog?.stop();
    this.watchdog = undefined;
  }
}
