export * from './alert';
export * from './alert-dispatcher';
export * from './alerts.module';
