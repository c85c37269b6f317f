export * from './loop-progress';
export * from './trading-counters';
export * from './heartbeat';
export * from './heartbeat-staleness';
export * from './account-progress';
export * from './process-heartbeat';
