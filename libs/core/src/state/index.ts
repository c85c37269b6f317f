export * from './audit-log.port';
export * from './risk-state-store.port';
export * from './signal-ledger.port';
export * from './state-load-report';
export * from './state-backend.port';
