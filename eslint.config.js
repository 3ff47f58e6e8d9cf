// typescript-eslint, strict and type-aware, over the TypeScript of the project (`npm run lint`). Not yet part of
// `npm test`: the tree is formatted and cleaned in one pass after the current work merges (issue 12).
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
  },
);
