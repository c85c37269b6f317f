export * from './hmac-signature';
export * from './signal-validation';
export * from './trade-signal';
export * from './signal-intake';
export * from './signal-fan-out';
