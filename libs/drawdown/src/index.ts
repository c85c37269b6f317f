export * from './drawdown-settings';
export * from './drawdown.module';
