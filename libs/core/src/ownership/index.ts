export * from './lease-store.port';
export * from './ownership-lost';
export * from './ownership-manager';
export * from './in-memory-lease-store';
export * from './account-ownership';
export * from './scale-out.port';
