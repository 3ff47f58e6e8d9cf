#!/usr/bin/env node
/**
 * `prepare` (runs after `npm install` in a clone): rebuilds the addon when build/Release/memmap.node is older than
 * binding.gyp or any file in native/.
 *
 * The `install` script is `node-gyp-build`, which compiles only when no addon loads at all: right for users (a
 * prebuild or an earlier build is kept), but in a development tree that already has a build it keeps the stale
 * addon after C sources change, and `npm install` would then run new TypeScript over old C. With no build at all
 * this does nothing: the install script has just built one, and `npm pack` (which also runs prepare) needs none.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'memmap.node');

if (existsSync(addon)) {
  const built = statSync(addon).mtimeMs;
  const sources = [
    join(root, 'binding.gyp'),
    ...readdirSync(join(root, 'native')).map((name) => join(root, 'native', name)),
  ];
  const stale = sources.filter((path) => statSync(path).mtimeMs > built);
  if (stale.length > 0) {
    console.log(`memmap: ${stale.length} native source(s) newer than build/Release/memmap.node: node-gyp rebuild`);
    const nodeGyp = process.env.npm_config_node_gyp;
    const result = nodeGyp
      ? spawnSync(process.execPath, [nodeGyp, 'rebuild'], { cwd: root, stdio: 'inherit' })
      : spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit', shell: true });
    process.exit(result.status ?? 1);
  }
}
