export * from './analytics.module';
export * from './metrics/trading-metrics';
