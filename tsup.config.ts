import { defineConfig } from 'tsup';

// One build for ESM and CJS with declarations. The addon is loaded at run time through
// node-gyp-build from the package root, so it is never bundled.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'mmap-io': 'src/compat/mmap-io.ts',
    unsafe: 'src/unsafe.ts',
    cli: 'src/cli.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  shims: true,
  splitting: false,
});
