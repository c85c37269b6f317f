export * from './account-runtime';
export * from './account-registry';
