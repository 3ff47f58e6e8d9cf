#!/usr/bin/env node
/**
 * `npm pack` / `npm publish` (prepack): builds the prebuilt addon shipped in the tarball, with prebuildify
 * (Node-API, stripped), into prebuilds/<platform>-<arch>/ of the package root.
 *
 * prebuildify runs `node-gyp rebuild` in its working directory and then *moves* build/Release/memmap.node into
 * prebuilds/. Run in the package root, that would delete the developer's own build/ addon (which node-gyp-build
 * loads before any prebuild). So the build happens in a copy of binding.gyp + native/ in a temporary directory,
 * and only the result lands here. `postpack` removes prebuilds/ again (scripts/clean-prebuilds.mjs), so a stale
 * prebuild never shadows a fresh source build in a development tree.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const prebuildify = require('prebuildify');
const { name } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// The node-gyp that npm runs scripts with (npm sets npm_config_node_gyp), else the one installed here: prebuildify's
// own lookup searches the temporary directory's node_modules/.bin, which does not exist.
const nodeGyp = process.env.npm_config_node_gyp || require.resolve('node-gyp/bin/node-gyp.js');

// Headers: node-gyp downloads them unless told where they are. A Node installed with its headers
// (<prefix>/include/node, as here) needs no download: point node-gyp at it when npm has not (npm's `nodedir`).
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  process.env.npm_config_nodedir = prefix;
}

const work = mkdtempSync(join(tmpdir(), 'memmap-prebuild-'));
try {
  cpSync(join(root, 'binding.gyp'), join(work, 'binding.gyp'));
  cpSync(join(root, 'native'), join(work, 'native'), { recursive: true });
  rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
  await new Promise((resolve, reject) =>
    prebuildify(
      {
        cwd: work,
        out: root,
        name,
        napi: true,
        strip: true,
        nodeGyp,
        cache: join(work, 'cache'), // node-gyp's --devdir: inside the temporary directory, removed with it
        // Node-API is ABI-stable: one build serves every Node version with NAPI_VERSION 8 (binding.gyp). Building
        // against the running Node's headers needs no download when npm's `nodedir` points at them.
        targets: [{ runtime: 'node', target: process.versions.node }],
      },
      (error) => (error ? reject(error) : resolve()),
    ),
  );
  console.log(`prebuildify: prebuilds/${process.platform}-${process.arch}/${name}.node`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
