// typescript-eslint, strict and type-aware, over the TypeScript of the project. Run by `npm test` (`npm run lint`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'build/', 'docs/api/', 'prebuilds/', 'bench/node_modules/', '**/*.mjs', '**/*.cjs', '**/*.js'],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true, // bench/*.bench.ts through bench/tsconfig.json
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Messages name offsets, lengths and counts: numbers, bigints and booleans print as themselves.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => void f()` and `expect(() => f())` read as what they are.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
    },
  },
  {
    // Tests, benchmarks and examples index arrays they have just filled (noUncheckedIndexedAccess): `rows[0]!`
    // states what the line before made true, where library code must check.
    files: ['test/**', 'bench/**', 'examples/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
