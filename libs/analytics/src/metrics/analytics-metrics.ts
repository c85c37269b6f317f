import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { TradingMetrics } from './trading-metrics';

/**
 * Metrics of the analytics outputs themselves (webhooks, live stream), on the app's one registry
 * so /metrics shows them beside the trading metrics. `webhook` is the URL's index in
 * ANALYTICS_WEBHOOK_URLS, not the URL: URLs may carry tokens in their query.
 */
@Injectable()
export class AnalyticsMetrics {
  readonly webhookDeliveries: Counter<'webhook' | 'outcome'>;
  readonly webhookAttemptFailures: Counter<'webhook'>;
  readonly webhookQueueDepth: Gauge<'webhook'>;
  readonly streamClients: Gauge;
  readonly streamDroppedClients: Counter;

  constructor(metrics: TradingMetrics) {
    const registers = [metrics.registry];
    this.webhookDeliveries = new Counter({
      name: 'trading_webhook_events_total',
      help: 'Events handed to webhooks, by how they ended: delivered, failed (gave up after retries or refused), dropped (queue full or stopping)',
      labelNames: ['webhook', 'outcome'],
      registers,
    });
    this.webhookAttemptFailures = new Counter({
      name: 'trading_webhook_attempt_failures_total',
      help: 'Webhook POST attempts that failed and were retried',
      labelNames: ['webhook'],
      registers,
    });
    this.webhookQueueDepth = new Gauge({
      name: 'trading_webhook_queue_depth',
      help: 'Events waiting for a webhook',
      labelNames: ['webhook'],
      registers,
    });
    this.streamClients = new Gauge({
      name: 'trading_event_stream_clients',
      help: 'Connected /api/v1/events/stream clients',
      registers,
    });
    this.streamDroppedClients = new Counter({
      name: 'trading_event_stream_dropped_clients_total',
      help: 'Event stream clients disconnected because they did not read fast enough',
      registers,
    });
  }
}
