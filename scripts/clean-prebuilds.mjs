#!/usr/bin/env node
/**
 * `postpack`: removes prebuilds/ after `npm pack` / `npm publish`. The prebuild exists only to be shipped; left in
 * a development tree it could be loaded instead of a fresh source build once build/ is gone.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

rmSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'prebuilds'), { recursive: true, force: true });
