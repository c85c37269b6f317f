export * from './circuit-breaker';
export * from './create-http-bridge-gateway';
export * from './http-bridge-gateway';
