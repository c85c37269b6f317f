export * from './account-settings';

export * from './heartbeat/heartbeat-stamp';
export * from './runtime.module';
export * from './runtime-lifecycle';
export * from './accounts/trading-accounts';
