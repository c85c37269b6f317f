import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { SCHEDULER, type Cancel, type Scheduler } from '@app/core';
import type { ServerResponse } from 'node:http';
import { EventBus } from '@app/common';
import { AnalyticsMetrics } from '../metrics/analytics-metrics';
import { isPublished, jsonOf, sseFrame, SSE_KEEPALIVE } from './event-view';

export interface EventStreamOptions {
  /** A client with more than this many bytes waiting in its socket buffer is dropped. */
  maxBufferedBytes: number;
  /** A client whose write() said "full" and that has not drained for this long is dropped. */
  drainTimeoutMs: number;
  /** Comment line sent this often so idle proxies keep the stream open. */
  keepAliveMs: number;
}

export const DEFAULT_EVENT_STREAM_OPTIONS: EventStreamOptions = {
  maxBufferedBytes: 256 * 1024,
  drainTimeoutMs: 10_000,
  keepAliveMs: 15_000,
};

interface StreamClient {
  id: number;
  res: ServerResponse;
  /** Only this account's events (and none of the process's own), when set. */
  accountId: string | undefined;
  /** When write() last returned false without a drain since (epoch ms from performance), else null. */
  blockedSince: number | null;
}

/**
 * Live Server-Sent Events for GET /api/v1/events/stream. Each event is serialised once and
 * written to every client; a client that does not read is dropped (its socket destroyed, which
 * frees what was buffered for it) when its buffer passes maxBufferedBytes or it stays blocked
 * past drainTimeoutMs. So memory per client is bounded by maxBufferedBytes plus one frame, and
 * publishing never waits for a client.
 */
@Injectable()
export class EventStreamHub implements OnModuleDestroy {
  private readonly logger = new Logger(EventStreamHub.name);
  private readonly clients = new Map<number, StreamClient>();
  private readonly unsubscribe: () => void;
  private options: EventStreamOptions = DEFAULT_EVENT_STREAM_OPTIONS;
  private keepAlive: Cancel | undefined;
  private nextId = 1;
  private droppedCount = 0;
  private maxBufferedSeen = 0;

  constructor(
    events: EventBus,
    private readonly metrics: AnalyticsMetrics,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
  ) {
    this.unsubscribe = events.subscribe((event) => {
      if (this.clients.size === 0 || !isPublished(event.type)) return;
      let frame: string | undefined;
      for (const client of this.clients.values()) {
        if (client.accountId !== undefined && client.accountId !== event.account_id) continue;
        frame ??= sseFrame(event.type, jsonOf(event));
        this.write(client, frame);
      }
    });
  }

  /** Tests tighten the bounds to prove the drop without megabytes of traffic. */
  configure(options: Partial<EventStreamOptions>): void {
    this.options = { ...this.options, ...options };
    if (this.keepAlive !== undefined) {
      this.keepAlive();
      this.keepAlive = undefined;
      this.ensureKeepAlive();
    }
  }

  /**
   * Takes over an HTTP response: SSE headers now, events until the client leaves or is dropped.
   * With `accountId`, only that account's events.
   */
  attach(res: ServerResponse, accountId?: string): void {
    const client: StreamClient = { id: this.nextId++, res, accountId, blockedSince: null };
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    this.clients.set(client.id, client);
    this.metrics.streamClients.set(this.clients.size);
    res.on('drain', () => (client.blockedSince = null));
    res.on('close', () => this.remove(client));
    this.write(client, SSE_KEEPALIVE); // lets the client see the stream is open before any event
    this.ensureKeepAlive();
  }

  stats(): { clients: number; dropped: number; max_buffered_bytes: number } {
    return {
      clients: this.clients.size,
      dropped: this.droppedCount,
      max_buffered_bytes: this.maxBufferedSeen,
    };
  }

  onModuleDestroy(): void {
    this.unsubscribe();
    this.keepAlive?.();
    for (const client of this.clients.values()) client.res.end();
    this.clients.clear();
    this.metrics.streamClients.set(0);
  }

  private broadcast(frame: string): void {
    for (const client of this.clients.values()) this.write(client, frame);
  }

  private write(client: StreamClient, frame: string): void {
    const { res } = client;
    if (res.destroyed || res.writableEnded) return;
    const buffered = res.writableLength;
    if (buffered > this.maxBufferedSeen) this.maxBufferedSeen = buffered;
    const now = performance.now();
    if (buffered > this.options.maxBufferedBytes) return this.drop(client, `${buffered} bytes unread`);
    if (client.blockedSince !== null && now - client.blockedSince > this.options.drainTimeoutMs) {
      return this.drop(client, `not drained for ${Math.round(now - client.blockedSince)} ms`);
    }
    if (!res.write(frame) && client.blockedSince === null) client.blockedSince = now;
  }

  private drop(client: StreamClient, why: string): void {
    this.droppedCount += 1;
    this.metrics.streamDroppedClients.inc();
    this.logger.warn({ client: client.id, why }, 'event stream client too slow; disconnected');
    this.remove(client);
    // destroy, not end: end() would queue behind the unread bytes and keep them in memory.
    client.res.destroy();
  }

  private remove(client: StreamClient): void {
    if (!this.clients.delete(client.id)) return;
    this.metrics.streamClients.set(this.clients.size);
    if (this.clients.size === 0 && this.keepAlive !== undefined) {
      this.keepAlive();
      this.keepAlive = undefined;
    }
  }

  private ensureKeepAlive(): void {
    if (this.keepAlive !== undefined || this.clients.size === 0) return;
    this.keepAlive = this.scheduler.every(this.options.keepAliveMs, () => this.broadcast(SSE_KEEPALIVE));
  }
}
