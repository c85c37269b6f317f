export * from './loop-progress';
export * from './trading-counters';
