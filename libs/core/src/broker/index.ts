export * from './broker-error';
export * from './broker-gateway.port';
export * from './broker-types';
export * from './retcodes';
export * from './broker-fleet.port';
