export * from './analytics.module';
export * from './analytics/analytics.service';
export * from './events/event-stream-hub';
export * from './metrics/trading-metrics';
export * from './history/history-recording';
