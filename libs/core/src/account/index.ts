export * from './account-runtime';
