export * from './drawdown';
export * from './drawdown-policy';
export * from './equity-read-tracker';
export * from './risk-state';
export * from './trading-day';
