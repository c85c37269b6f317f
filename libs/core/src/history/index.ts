export * from './history-store.port';
export * from './history-recorder';
