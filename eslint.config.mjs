// Lint for the TypeScript sources and tests (run by `npm test` as `npm run lint`). typescript-eslint's
// recommended rules, without type information (fast: a few seconds), plus a few of our own.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'media/vendor/**', 'test-output/**', '.van-test/**', 'test/cluster/go/**', 'test/interop/go/**', '**/*.cjs', '**/*.mjs'] },
  { linterOptions: { reportUnusedDisableDirectives: 'off' } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts'],
    rules: {
      // Shown, not blocking: the read models still type some API objects loosely.
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
      eqeqeq: ['error', 'smart'],
      'no-control-regex': 'off',
      'prefer-const': 'error',
    },
  },
  {
    // The test harness reads Kubernetes objects as plain JSON: `any` is the honest type there.
    files: ['test/**/*.ts', 'test/**/*.mts', 'scripts/**/*.mts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
