export * from './lease-store.port';
export * from './ownership-lost';
