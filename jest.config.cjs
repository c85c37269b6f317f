/** One jest config for unit specs (beside the code in libs/ and apps/) and e2e specs (test/). */
const esmPackages = [
  '@nestjs',
  'uid',
  'file-type',
  'strtok3',
  'token-types',
  '@tokenizer',
  'uint8array-extras',
  '@borewit',
];
const libs = [
  'core',
  'config',
  'mt5',
  'state',
  'signals',
  'runtime',
  'drawdown',
  'alerts',
  'analytics',
  'common',
  'control',
];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  // The long runs (`*.stress-spec.ts`) belong to `npm run test:stress` only: never let a pattern change pull them in.
  testPathIgnorePatterns: ['/node_modules/', '\\.stress-spec\\.ts$'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json', 'node'],
  transform: {
    '^.+\\.(t|j|mj|cj)s$': [
      '<rootDir>/scripts/jest/ts-jest-esm-shim.cjs',
      { tsconfig: '<rootDir>/tsconfig.spec.json' },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleNameMapper: Object.fromEntries(
    libs.flatMap((lib) => [
      [`^@app/${lib}$`, `<rootDir>/libs/${lib}/src`],
      [`^@app/${lib}/(.*)$`, `<rootDir>/libs/${lib}/src/$1`],
    ]),
  ),
  setupFiles: ['<rootDir>/scripts/jest/setup.cjs'],
  testTimeout: 30000,
  maxWorkers: 2,
};
