export * from './bounded-queue';
