export * from './demo/demo-signal-source';
export * from './platform/platform-signal-source';
export * from './signals.module';
export * from './signals.tokens';
