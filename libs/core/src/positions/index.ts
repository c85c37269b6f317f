export * from './close-reason';
export * from './own-positions-watch';
