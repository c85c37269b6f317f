// Lint gates from the style guide: no floating or misused promises, exhaustive switches,
// no `any`, and a pure core that imports no framework or I/O.
import tseslint from 'typescript-eslint';

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
    // The pure core: plain TypeScript, unit-tested directly. Framework, network and disk live outside.
    files: ['libs/core/src/**/*.ts'],
    ignores: ['libs/core/src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
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
