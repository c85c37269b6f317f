export * from './atomic-file';
export * from './audit-log';
export * from './checksummed-json-file';
export * from './file-state-store';
export * from './signal-ledger';
export * from './state-store.port';
export * from './state.module';
export * from './state.tokens';
