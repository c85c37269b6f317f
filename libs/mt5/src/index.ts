export * from './mt5.module';
export * from './mt5.tokens';
