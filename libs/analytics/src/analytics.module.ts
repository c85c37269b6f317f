import { Module } from '@nestjs/common';
import { DrawdownModule } from '@app/drawdown';
import { SignalsModule } from '@app/signals';
import { AnalyticsController } from './analytics/analytics.controller';
import { AnalyticsService } from './analytics/analytics.service';
import { EventStreamHub } from './events/event-stream-hub';
import { EventsController } from './events/events.controller';
import { HistoryExportController } from './history/export.controller';
import { HistoryAnalyticsController } from './history/history-analytics.controller';
import { HistoryRecording } from './history/history-recording';
import { RecentEvents } from './events/recent-events';
import { AnalyticsMetrics } from './metrics/analytics-metrics';
import { MetricsController } from './metrics/metrics.controller';
import { TradingMetrics } from './metrics/trading-metrics';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher';

@Module({
  imports: [DrawdownModule, SignalsModule],
  controllers: [
    MetricsController,
    AnalyticsController,
    EventsController,
    HistoryAnalyticsController,
    HistoryExportController,
  ],
  providers: [
    TradingMetrics,
    AnalyticsMetrics,
    AnalyticsService,
    RecentEvents,
    EventStreamHub,
    WebhookDispatcher,
    HistoryRecording,
  ],
  exports: [TradingMetrics, AnalyticsService, EventStreamHub],
})
export class AnalyticsModule {}
