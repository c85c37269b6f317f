export * from './file-paper-account-persistence';
export * from './paper-broker-gateway';
