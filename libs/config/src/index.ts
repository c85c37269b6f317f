export * from './account-config';
export * from './app-config';
export * from './config.tokens';
export * from './load-config';
export * from './config.module';
export * from './state-backend-config';
export * from './account-configs';
export { readAccountEntry, rawAccountEntries } from './accounts-file';
export * from './account-rows';
