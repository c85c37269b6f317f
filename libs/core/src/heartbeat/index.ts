export * from './loop-progress';
export * from './trading-counters';
export * from './heartbeat';
export * from './heartbeat-staleness';
