import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import axios, { type AxiosInstance } from 'axios';
import { backoffDelay, SCHEDULER, SignalFanOut, type Cancel, type Clock, type Scheduler } from '@app/core';
import { APP_CONFIG, CLOCK, type AppConfig } from '@app/config';
import { Lifecycle } from '@app/common';
import { describeIssues, snippet } from '@app/common';
import { SIGNED_REQUEST_HEADER, signRequest } from '@app/core';
import { parsePlatformSignal, pendingApprovalsSchema } from './platform-approvals';

/** The platform's pending-approvals call (docs/platform-approvals.openapi.yaml). */
export const PLATFORM_PENDING_PATH = '/api/v1/approvals/pending';
/**
 * Poll period while the platform answers. Fixed, not LOOP_TICK_MS: the loop's tick is about
 * executing, the poll is about how stale an approval may get; one second adds at most ~1 s of
 * latency and one small request a second.
 */
export const PLATFORM_POLL_INTERVAL_MS = 1_000;
/** After n consecutive failures the next poll waits between half and all of min(interval * 2^(n-1), this) (equal jitter). */
export const PLATFORM_MAX_BACKOFF_MS = 30_000;
/** Per poll request. */
export const PLATFORM_POLL_TIMEOUT_MS = 5_000;
/** Signals asked for per poll (`{"limit":N}`); the rest come with the next poll. */
export const PLATFORM_POLL_LIMIT = 100;
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Counters of the source, for the status of the service and for tests. */
export interface PlatformSourceStats {
  polls: number;
  pollFailures: number;
  consecutiveFailures: number;
  accepted: number;
  duplicates: number;
  halted: number;
  invalid: number;
  submitFailures: number;
  lastError: string | undefined;
}

/**
 * SIGNAL_SOURCES=platform: polls the approvals platform for signals a person approved there and
 * hands each to the fan-out, which claims the id durably, so a signal the platform repeats (it
 * does, until it ages out there) executes at most once, also across restarts. `approvedAtMs` makes
 * approval_time_ms = approved_at - created_at.
 *
 * Never fatal: a failed poll (network, non-2xx, bad envelope) is logged, counted and retried with
 * exponential backoff; a bad signal is logged, counted and skipped. Polls never overlap: the next
 * one is scheduled when the last one ended.
 */
@Injectable()
export class PlatformSignalSource implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PlatformSignalSource.name);
  private readonly counters: PlatformSourceStats = {
    polls: 0,
    pollFailures: 0,
    consecutiveFailures: 0,
    accepted: 0,
    duplicates: 0,
    halted: 0,
    invalid: 0,
    submitFailures: 0,
    lastError: undefined,
  };
  private http: AxiosInstance | undefined;
  private credentials: { apiKeyId: string; apiSecret: string } | undefined;
  private stopped = false;
  private inFlight: AbortController | undefined;
  private cancelPoll: Cancel | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly fanOut: SignalFanOut,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    private readonly lifecycle: Lifecycle,
  ) {}

  get stats(): PlatformSourceStats {
    return { ...this.counters };
  }

  onApplicationBootstrap(): void {
    if (!this.config.signals.sources.includes('platform')) return;
    const { apiUrl, apiKeyId, apiSecret } = this.config.platform;
    if (apiUrl === undefined || apiKeyId === undefined || apiSecret === undefined)
      throw new Error(
        'SIGNAL_SOURCES=platform needs PLATFORM_API_URL, PLATFORM_API_KEY_ID and PLATFORM_API_SECRET (config validation should have refused this)',
      );
    this.credentials = { apiKeyId, apiSecret };
    this.http = axios.create({
      baseURL: apiUrl.replace(/\/+$/, ''),
      timeout: PLATFORM_POLL_TIMEOUT_MS,
      // The body is signed as sent and the answer parsed by us: no axios transformation either way.
      transformRequest: [(data: unknown) => data],
      transformResponse: [(data: unknown) => data],
      responseType: 'text',
      maxContentLength: MAX_RESPONSE_BYTES,
      // A redirect would change the signed path.
      maxRedirects: 0,
      validateStatus: () => true,
    });
    this.schedule(0);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.inFlight?.abort();
    this.cancelPoll?.();
  }

  /** One poll and the submission of what it brought. Never rejects. Exposed for tests. */
  async pollOnce(): Promise<void> {
    const http = this.http;
    if (http === undefined) return;
    this.counters.polls++;
    const answer = await this.fetchPending(http);
    if (!answer.ok) {
      this.counters.pollFailures++;
      this.counters.consecutiveFailures++;
      this.counters.lastError = answer.error;
      // One line per failure would flood the log during an outage: the first, then every tenth.
      if (this.counters.consecutiveFailures === 1 || this.counters.consecutiveFailures % 10 === 0) {
        this.logger.warn(
          {
            consecutive_failures: this.counters.consecutiveFailures,
            next_poll_in_ms: this.nextDelayMs(),
            error: answer.error,
          },
          'approvals platform poll failed; backing off',
        );
      }
      return;
    }
    if (this.counters.consecutiveFailures > 0) {
      this.logger.log(
        { after_failures: this.counters.consecutiveFailures },
        'approvals platform answers again',
      );
    }
    this.counters.consecutiveFailures = 0;
    this.counters.lastError = undefined;
    for (const raw of answer.signals) await this.submitOne(raw);
  }

  private async submitOne(raw: unknown): Promise<void> {
    const parsed = parsePlatformSignal(raw, this.config.signals.maxVolume, this.clock.now());
    if (!parsed.ok) {
      this.counters.invalid++;
      this.logger.warn(
        { signal_id: parsed.id, errors: parsed.errors },
        'approvals platform sent an invalid signal; skipped',
      );
      return;
    }
    try {
      const outcome = await this.fanOut.submit(parsed.signal);
      switch (outcome.kind) {
        case 'accepted':
          this.counters.accepted++;
          break;
        case 'duplicate':
          this.counters.duplicates++;
          break;
        case 'halted':
          this.counters.halted++;
          break;
        case 'unavailable':
          this.counters.submitFailures++;
          break;
        case 'no_target_accounts':
        case 'unknown_accounts':
          // Nothing recorded: the platform keeps offering it until an account for it exists.
          this.counters.invalid++;
          this.logger.warn(
            {
              signal_id: parsed.signal.id,
              reason: outcome.kind,
              ...(outcome.kind === 'unknown_accounts' ? { accounts: outcome.ids.slice(0, 50) } : {}),
            },
            'approvals platform sent a signal for no account of this service; skipped',
          );
          break;
        case 'stopping':
          break; // not claimed; the platform repeats it to whoever polls next
      }
    } catch (error) {
      // Not claimed (e.g. the ledger could not be written): the platform repeats it, so the next poll retries.
      this.counters.submitFailures++;
      this.logger.error(
        { err: error, signal_id: parsed.signal.id },
        'platform signal could not be submitted; retried on the next poll',
      );
    }
  }

  private async fetchPending(
    http: AxiosInstance,
  ): Promise<{ ok: true; signals: unknown[] } | { ok: false; error: string }> {
    const credentials = this.credentials;
    if (credentials === undefined) return { ok: false, error: 'platform source not started' };
    const { apiKeyId, apiSecret } = credentials;
    const body = JSON.stringify({ limit: PLATFORM_POLL_LIMIT });
    const target = new URL(http.getUri({ url: PLATFORM_PENDING_PATH }));
    const timestamp = String(this.clock.now());
    const signature = signRequest(apiSecret, {
      timestamp,
      method: 'POST',
      pathWithQuery: `${target.pathname}${target.search}`,
      body,
    });
    this.inFlight = new AbortController();
    try {
      const response = await http.post<string>(PLATFORM_PENDING_PATH, body, {
        signal: this.inFlight.signal,
        headers: {
          'Content-Type': 'application/json',
          [SIGNED_REQUEST_HEADER.apiKey]: apiKeyId,
          [SIGNED_REQUEST_HEADER.timestamp]: timestamp,
          [SIGNED_REQUEST_HEADER.signature]: signature,
        },
      });
      const text = typeof response.data === 'string' ? response.data : '';
      if (response.status !== 200) return { ok: false, error: `HTTP ${response.status}: ${snippet(text)}` };
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        return {
          ok: false,
          error: `body is not JSON (${error instanceof Error ? error.message : String(error)}): ${snippet(text)}`,
        };
      }
      const envelope = pendingApprovalsSchema.safeParse(json);
      if (!envelope.success)
        return {
          ok: false,
          error: `unexpected body: ${describeIssues(envelope.error)}`,
        };
      return { ok: true, signals: envelope.data.signals };
    } catch (error) {
      const detail = axios.isAxiosError(error)
        ? `${error.code ?? 'no code'}: ${error.message}`
        : String(error);
      return { ok: false, error: `request failed (${detail})` };
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Delay before the next poll: the interval while healthy, exponential backoff with jitter after failures. */
  private nextDelayMs(): number {
    const failures = this.counters.consecutiveFailures;
    if (failures === 0) return PLATFORM_POLL_INTERVAL_MS;
    return backoffDelay(
      { baseDelayMs: PLATFORM_POLL_INTERVAL_MS, maxDelayMs: PLATFORM_MAX_BACKOFF_MS },
      failures - 1,
    );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.cancelPoll?.();
    this.cancelPoll = this.scheduler.after(delayMs, () => void this.tick());
  }

  private async tick(): Promise<void> {
    // Intake closes when the service stops: no new signals, no new poll.
    if (this.stopped || this.lifecycle.stopping) return;
    await this.pollOnce();
    this.schedule(this.nextDelayMs());
  }
}
