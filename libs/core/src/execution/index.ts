export * from './order-executor';
export * from './order-rate-limiter';
export * from './request-ids';
export * from './map-with-concurrency';
export * from './execution-steps';
export * from './recently-closed-positions';
