export * from './broker-error';
export * from './broker-gateway.port';
export * from './broker-types';
export * from './retcodes';
