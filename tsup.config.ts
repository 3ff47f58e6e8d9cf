import { defineConfig } from 'tsup';

// Every public entry point: the main API, the mmap-io drop-in, the unsafe corner, and the CLI (package.json
// exports and bin point at their dist files; test/package/tarball.test.ts checks each one is in the tarball).
const entries: Record<string, string> = {
  index: 'src/index.ts',
  'mmap-io': 'src/compat/mmap-io.ts',
  unsafe: 'src/unsafe.ts',
  cli: 'src/cli.ts',
};

// One build for ESM and CJS with declarations. The addon is loaded at run time through node-gyp-build from the
// package root, so it is never bundled.
export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  // @internal members (constructors guarded by a module token, helpers other modules of memmap call) are not
  // part of the published types.
  dts: { compilerOptions: { stripInternal: true } },
  clean: true,
  sourcemap: true,
  target: 'node20',
  shims: true,
  splitting: false,
});
