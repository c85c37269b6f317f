/** `npm run test:stress`: the long runs of issue 8 (crash, chaos, fuzz, soak), one file at a time. */
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.stress-spec.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 30 * 60 * 1000,
  maxWorkers: 1,
};
