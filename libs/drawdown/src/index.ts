export * from './close-all-positions';
export * from './drawdown-alert-text';
export * from './drawdown-guard';
export * from './drawdown.module';
export * from './halt-status.port';
