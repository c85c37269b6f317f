export * from './close-reason';
export * from './own-positions-watch';
export * from './closed-position-reporter';
