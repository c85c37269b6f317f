export * from './drawdown-curve';
export * from './latency-histogram';
export * from './outcome-rates';
export * from './recovery-tracker';
export * from './sliding-window-rate';
