export * from './atomic-file';
export * from './checksummed-json-file';
export * from './file-audit-log';
export * from './file-risk-state-store';
export * from './file-signal-ledger';
export * from './file-state-store';
export * from './state.module';
export * from './state-dir-lock';
