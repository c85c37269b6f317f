export * from './bounded-queue';
export * from './set-newest';
