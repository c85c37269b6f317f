// The pure core: no framework, network or disk. See eslint.config.mjs for the rule that keeps it so.
export * from './broker';
export * from './events/trading-events';
export * from './execution/request-ids';
export * from './signals/trade-signal';
export * from './time/clock';
