export * from './history-store.port';
