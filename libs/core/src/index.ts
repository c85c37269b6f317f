// The pure core: no framework, network or disk. See eslint.config.mjs for the rule that keeps it so.
export * from './analytics';
export * from './broker';
export * from './collections';
export * from './events/trading-events';
export * from './execution';
export * from './heartbeat';
export * from './numbers/output-precision';
export * from './paper';
export * from './positions';
export * from './risk';
export * from './signals';
export * from './time/backoff';
export * from './time/clock';
export * from './time/scheduler';
