export * from './file-paper-account-store';
export * from './paper-broker-gateway';
export * from './paper-fleet';
export * from './owned-paper-fleet';
