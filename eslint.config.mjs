// Lint gates from the style guide: no floating or misused promises, exhaustive switches,
// no `any`, a pure core that imports no framework or I/O, and no timer outside the scheduler's adapter.
// (Which lib may import which is checked by dependency-cruiser: .dependency-cruiser.cjs.)
import tseslint from 'typescript-eslint';

// Timers go through the Scheduler port so tests run in virtual time (ManualScheduler).
const TIMER_FUNCTIONS = [
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
];
const TIMER_MODULES = ['timers', 'node:timers', 'timers/promises', 'node:timers/promises'];
const TIMER_MESSAGE =
  'Use the Scheduler port (SCHEDULER / Scheduler from @app/core, libs/core/src/time/scheduler.ts): ' +
  'only libs/common/src/time/system-scheduler.ts calls the real timers.';
const TIMER_MODULE_PATTERN = `/^(node:)?timers(\\/promises)?$/`;
/** `import ... from 'timers'`, `import t = require('timers')`, `export ... from 'timers'`. */
const timerImportPaths = TIMER_MODULES.map((name) => ({ name, message: TIMER_MESSAGE }));
const timerRules = {
  'no-restricted-globals': ['error', ...TIMER_FUNCTIONS.map((name) => ({ name, message: TIMER_MESSAGE }))],
  'no-restricted-properties': [
    'error',
    ...['globalThis', 'global'].flatMap((object) =>
      TIMER_FUNCTIONS.map((property) => ({ object, property, message: TIMER_MESSAGE })),
    ),
  ],
  'no-restricted-imports': ['error', { paths: timerImportPaths }],
  // What no-restricted-imports does not see: `import('timers')` and `require('timers')`.
  'no-restricted-syntax': [
    'error',
    { selector: `ImportExpression[source.value=${TIMER_MODULE_PATTERN}]`, message: TIMER_MESSAGE },
    {
      selector: `CallExpression[callee.name='require'][arguments.0.value=${TIMER_MODULE_PATTERN}]`,
      message: TIMER_MESSAGE,
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'coverage/**',
      'node_modules/**',
      'var/**',
      '.tmp/**',
      'bench-results/**',
      '**/*.cjs',
      '**/*.mjs',
      'tools/**',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      'no-console': 'error',
    },
  },
  {
    // No timer outside the scheduler's adapter: production code asks the Scheduler port.
    // Tests, scripts and tools are exempt (they may use real timers or jest's fake ones).
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: [
      'libs/common/src/time/system-scheduler.ts',
      '**/*.spec.ts',
      '**/*.e2e-spec.ts',
      '**/*.stress-spec.ts',
      'test/**',
      'scripts/**',
      'tools/**',
      // The dashboard runs in the browser: its timers are the page's, not the service's.
      'apps/dashboard/**',
    ],
    rules: timerRules,
  },
  {
    // The pure core: plain TypeScript, unit-tested directly. Framework, network and disk live outside.
    // Flat config replaces a rule's options per file: this no-restricted-imports repeats the timer modules.
    files: ['libs/core/src/**/*.ts'],
    ignores: ['libs/core/src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: timerImportPaths,
          patterns: [
            {
              group: ['@nestjs/*', 'axios', 'axios-retry', 'telegraf', 'prom-client', 'pino', 'nestjs-pino'],
              message: 'libs/core is pure: no framework or I/O imports.',
            },
            {
              group: [
                'fs',
                'node:fs',
                'fs/promises',
                'node:fs/promises',
                'http',
                'node:http',
                'https',
                'node:https',
                'net',
                'node:net',
              ],
              message: 'libs/core is pure: no disk or network.',
            },
            { group: ['@app/*'], message: 'libs/core depends on nothing else in the repository.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Tests read JSON answers loosely; production code may not.
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'off',
    },
  },
);
