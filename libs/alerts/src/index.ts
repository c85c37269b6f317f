export * from './alert';
export * from './alert-dispatcher';
export * from './alert-drops';
export * from './alerts.module';
export * from './watchdog/heartbeat-watchdog';
