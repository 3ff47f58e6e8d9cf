/**
 * `npm install memmap` in someone else's project. The repository is copied aside and packed there with `npm pack`
 * (whose prepack/prepare scripts build the prebuilt addon with prebuildify and dist/ with tsup, away from the
 * build/ and dist/ that the rest of this test run loads); the tarball is installed with `npm install ./memmap-x.y.z.tgz`
 * into a fresh temporary project (only node-gyp-build comes from the registry, or npm's cache), and that project
 * then uses memmap from CommonJS, from ESM, from TypeScript under `strict` with `moduleResolution` node16 and bundler,
 * and through its bin. Slow (tens of seconds): one pack and one install for the whole file.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp.ts';
import { describeResult, expectedOutput, quickStart, REPO, run, stageRepository } from './helpers.ts';

interface PackageJson {
  name: string;
  version: string;
  exports: Record<string, unknown>;
  bin?: Record<string, string>;
  files: string[];
}

interface PackResult {
  filename: string;
  files: { path: string }[];
}

const SLOW = 300_000;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as PackageJson;
/** The package's entry points as `import` specifiers: 'memmap', 'memmap/mmap-io', ... (not ./package.json). */
const entryPoints = Object.keys(pkg.exports)
  .filter((subpath) => subpath !== './package.json')
  .map((subpath) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`));
const tsc = join(REPO, 'node_modules/typescript/bin/tsc');

/** `npm pack --json` prints the scripts' build output first, then the JSON array. */
function parsePackOutput(stdout: string): PackResult {
  const start = stdout.search(/^\[\s*\{/m);
  if (start === -1) throw new Error(`no JSON in npm pack's output:\n${stdout}`);
  return (JSON.parse(stdout.slice(start)) as PackResult[])[0]!;
}

describe('the npm tarball, installed into a fresh project', () => {
  const stage = useTempDir('memmap-stage-');
  const packs = useTempDir('memmap-pack-');
  const project = useTempDir('memmap-consumer-');
  const installed = (path = '') => project(join('node_modules', pkg.name, path));
  let packed: PackResult;

  beforeAll(() => {
    stageRepository(stage(''));
    symlinkSync(join(REPO, 'node_modules'), stage('node_modules'), 'dir');
    const pack = run('npm', ['pack', '--json', '--pack-destination', packs('')], { cwd: stage(''), timeoutMs: SLOW });
    if (pack.status !== 0) throw new Error(describeResult('npm pack', pack));
    packed = parsePackOutput(pack.stdout);

    writeFileSync(
      project('package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2),
    );
    const install = run(
      'npm',
      ['install', packs(packed.filename), '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock'],
      { cwd: project(''), timeoutMs: SLOW },
    );
    if (install.status !== 0) throw new Error(describeResult('npm install', install));
  }, SLOW);

  describe('the tarball', () => {
    it(`is named ${pkg.name}-${pkg.version}.tgz`, () => {
      expect(packed.filename).toBe(`${pkg.name}-${pkg.version}.tgz`);
    });

    it('holds dist (ESM, CJS, declarations), the C sources, binding.gyp, the linux-x64 prebuild, README, LICENSE', () => {
      const paths = packed.files.map((file) => file.path);
      for (const path of [
        'package.json',
        'README.md',
        'LICENSE',
        'binding.gyp',
        'native/memmap.c',
        'native/common.h',
        'dist/index.js',
        'dist/index.cjs',
        'dist/index.d.ts',
        'dist/index.d.cts',
        `prebuilds/linux-x64/${pkg.name}.node`,
      ]) {
        expect(paths).toContain(path);
      }
      // Every source file binding.gyp compiles is shipped, so a build from source works.
      const gyp = readFileSync(join(REPO, 'binding.gyp'), 'utf8');
      for (const source of gyp.match(/native\/[\w.-]+\.c/g) ?? []) expect(paths).toContain(source);
    });

    it('ships the C headers that speak the Mutex and Channel protocols', () => {
      const paths = packed.files.map((file) => file.path);
      expect(paths).toEqual(expect.arrayContaining(['include/memmap/mutex.h', 'include/memmap/channel.h']));
    });

    it('holds nothing else: no tests, benchmarks, examples, TypeScript sources, scripts or local build', () => {
      const allowed =
        /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|binding\.gyp|native\/[\w.-]+\.[ch]|include\/memmap\/[\w.-]+\.h|dist\/[\w.-]+|prebuilds\/linux-x64\/[\w.-]+\.node)$/;
      const unexpected = packed.files.map((file) => file.path).filter((path) => !allowed.test(path));
      expect(unexpected).toEqual([]);
      expect(packed.files.some((file) => file.path.startsWith('build/'))).toBe(false);
    });

    it('has a dist file behind every path of the exports map and the bin', () => {
      const paths = new Set(packed.files.map((file) => file.path));
      const targets = JSON.stringify(pkg.exports).match(/"\.\/dist\/[^"]+"/g) ?? [];
      for (const target of [...targets.map((quoted) => quoted.slice(3, -1)), ...Object.values(pkg.bin ?? {})]) {
        expect(paths, target).toContain(target.replace(/^\.\//, ''));
      }
    });
  });

  describe('the installed package', () => {
    it('loads the prebuilt addon, not a local build: nothing was compiled on install', () => {
      expect(existsSync(installed('build'))).toBe(false);
      const resolved = run(process.execPath, ['-p', `require('node-gyp-build').path(${JSON.stringify(installed())})`], {
        cwd: project(''),
      });
      expect(resolved.status, describeResult('node-gyp-build path', resolved)).toBe(0);
      expect(resolved.stdout.trim()).toBe(installed(`prebuilds/linux-x64/${pkg.name}.node`));
    });

    it.each(entryPoints)('require and import of %s both work and give the same API', (specifier) => {
      writeFileSync(
        project('keys.cjs'),
        `console.log(JSON.stringify(Object.keys(require(process.argv[2])).filter((k) => k !== 'default').sort()));\n`,
      );
      writeFileSync(
        project('keys.mjs'),
        `const m = await import(process.argv[2]);\n` +
          `console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()));\n`,
      );
      const required = run(process.execPath, ['keys.cjs', specifier], { cwd: project('') });
      const imported = run(process.execPath, ['keys.mjs', specifier], { cwd: project('') });
      expect(required.status, describeResult('require', required)).toBe(0);
      expect(imported.status, describeResult('import', imported)).toBe(0);
      const requiredKeys = JSON.parse(required.stdout) as string[];
      expect(requiredKeys.length).toBeGreaterThan(0);
      expect(JSON.parse(imported.stdout)).toEqual(requiredKeys);
    });

    it('maps a file from CommonJS and from ESM, and each sees what the other wrote', () => {
      const cjs = [
        `const { MappedFile } = require('memmap');`,
        `const file = MappedFile.open('shared.bin', { mode: 'w+', size: 4096 });`,
        `file.buffer.write('from cjs', 0);`,
        `file.close();`,
      ].join('\n');
      const esm = [
        `import { MappedFile } from 'memmap';`,
        `const file = MappedFile.open('shared.bin', { mode: 'r' });`,
        `console.log(file.buffer.toString('latin1', 0, 8));`,
        `file.close();`,
      ].join('\n');
      writeFileSync(project('write.cjs'), cjs);
      writeFileSync(project('read.mjs'), esm);
      const written = run(process.execPath, ['write.cjs'], { cwd: project('') });
      expect(written.status, describeResult('write.cjs', written)).toBe(0);
      const read = run(process.execPath, ['read.mjs'], { cwd: project('') });
      expect(read.status, describeResult('read.mjs', read)).toBe(0);
      expect(read.stdout.trim()).toBe('from cjs');
    });

    it('memmap/mmap-io is used the way mmap-io is, from require and from import', () => {
      writeFileSync(project('page.bin'), Buffer.alloc(4096, 0x61));
      const cjs = [
        `const mmap = require('memmap/mmap-io');`,
        `const fs = require('node:fs');`,
        `const fd = fs.openSync('page.bin', 'r');`,
        `const buffer = mmap.map(4096, mmap.PROT_READ, mmap.MAP_SHARED, fd);`,
        `fs.closeSync(fd);`,
        `console.log(buffer.toString('latin1', 0, 3), mmap.PAGESIZE > 0);`,
      ].join('\n');
      const esm = [
        `import mmap from 'memmap/mmap-io';`,
        `import { openSync, closeSync } from 'node:fs';`,
        `const fd = openSync('page.bin', 'r');`,
        `const buffer = mmap.map(4096, mmap.PROT_READ, mmap.MAP_SHARED, fd);`,
        `closeSync(fd);`,
        `console.log(buffer.toString('latin1', 0, 3), mmap.PAGESIZE > 0);`,
      ].join('\n');
      writeFileSync(project('mmap-io.cjs'), cjs);
      writeFileSync(project('mmap-io.mjs'), esm);
      for (const file of ['mmap-io.cjs', 'mmap-io.mjs']) {
        const result = run(process.execPath, [file], { cwd: project('') });
        expect(result.status, describeResult(file, result)).toBe(0);
        expect(result.stdout.trim()).toBe('aaa true');
      }
    });

    it('runs the README quick start as written', () => {
      mkdirSync(project('quick-start'));
      symlinkSync(join(REPO, 'node_modules/tsx'), project('node_modules/tsx'), 'dir');
      writeFileSync(
        project('quick-start/package.json'),
        JSON.stringify({ name: 'quick-start', private: true, type: 'module' }),
      );
      writeFileSync(project('quick-start/quick-start.mts'), quickStart());
      const result = run(process.execPath, ['--import', 'tsx', 'quick-start.mts'], { cwd: project('quick-start') });
      expect(result.status, describeResult('quick start', result)).toBe(0);
      expect(result.stdout.trim().split('\n')).toEqual(expectedOutput(quickStart()));
    });

    it('installs the memmap bin, which inspects a record file the installed package wrote', () => {
      const bin = project('node_modules/.bin/memmap');
      expect(existsSync(bin)).toBe(true);
      const help = run(bin, ['--help'], { cwd: project('') });
      expect(help.status, describeResult('memmap --help', help)).toBe(0);
      expect(help.stdout + help.stderr).toMatch(/inspect/);

      writeFileSync(
        project('log.cjs'),
        [
          `const { RecordFile, char, int32, struct } = require('memmap');`,
          `const Student = struct({ name: char(4), age: int32 });`,
          `const db = RecordFile.open('students.db', Student, { mode: 'w+' });`,
          `db.push({ name: 'ann', age: 20 }, { name: 'bob', age: 21 });`,
          `db.close();`,
        ].join('\n'),
      );
      const written = run(process.execPath, ['log.cjs'], { cwd: project('') });
      expect(written.status, describeResult('log.cjs', written)).toBe(0);
      const inspected = run(bin, ['inspect', 'students.db', '--json'], { cwd: project('') });
      expect(inspected.status, describeResult('memmap inspect', inspected)).toBe(0);
      const report = JSON.parse(inspected.stdout) as { count: number; records: unknown[] };
      expect(report.count).toBe(2);
      expect(report.records).toEqual([
        { name: 'ann', age: 20 },
        { name: 'bob', age: 21 },
      ]);
    });
  });

  describe('a TypeScript consumer type-checks under strict', () => {
    // What a user writes. `@ts-expect-error` lines prove the types are precise (not `any`): each must be an error.
    const consumer = [
      `import { MappedFile, PAGE_SIZE, RecordFile, char, int32, struct } from 'memmap';`,
      `import type { Infer, MapMode, OpenOptions, SystemError } from 'memmap';`,
      `import mmap, { MAP_SHARED, PROT_READ } from 'memmap/mmap-io';`,
      ``,
      `const mode: MapMode = 'w+';`,
      `const options: OpenOptions = { mode, size: PAGE_SIZE };`,
      `export function useFile(path: string): number {`,
      `  using file = MappedFile.open(path, options);`,
      `  const bytes: Buffer = file.buffer;`,
      `  bytes.writeInt32LE(42, 0);`,
      `  file.flush();`,
      `  const length: number = file.length;`,
      `  // @ts-expect-error 'rw' is not a MapMode`,
      `  MappedFile.open(path, { mode: 'rw' });`,
      `  // @ts-expect-error length is a number`,
      `  const wrong: string = file.length;`,
      `  void wrong;`,
      `  return length;`,
      `}`,
      `export async function flushLater(file: MappedFile): Promise<void> {`,
      `  await file.flushAsync();`,
      `}`,
      `export function mapLikeMmapIo(fd: number): Buffer {`,
      `  const buffer: Buffer = mmap.map(4096, PROT_READ, MAP_SHARED, fd);`,
      `  const [notResident, resident]: [number, number] = mmap.incore(buffer);`,
      `  void (notResident + resident);`,
      `  mmap.unmap(buffer);`,
      `  // @ts-expect-error the fd is a number`,
      `  mmap.map(4096, PROT_READ, MAP_SHARED, 'file.bin');`,
      `  return buffer;`,
      `}`,
      `const Student = struct({ name: char(4), age: int32 });`,
      `type Student = Infer<typeof Student>;`,
      `export function students(file: MappedFile): Student[] {`,
      `  const rows = Student.array(file.buffer);`,
      `  rows.set(0, { name: 'a', age: 20 });`,
      `  rows.at(0).age += 1;`,
      `  const first: Student = rows.get(0);`,
      `  const name: string = first.name;`,
      `  // @ts-expect-error age is a number`,
      `  rows.set(1, { name: 'b', age: '21' });`,
      `  // @ts-expect-error Student has no field 'grade'`,
      `  void first.grade;`,
      `  return [first, { name, age: Student.size }];`,
      `}`,
      `export function appendLog(path: string): number {`,
      `  using log = RecordFile.open(path, Student, { flush: { everyWrites: 1000 } });`,
      `  log.push({ name: 'c', age: 22 });`,
      `  // @ts-expect-error a record needs every field`,
      `  log.push({ name: 'd' });`,
      `  const age: number = log.get(0).age;`,
      `  log.flush();`,
      `  return age + log.length;`,
      `}`,
      `export function errno(error: SystemError): number {`,
      `  return error.errno;`,
      `}`,
      ``,
    ].join('\n');

    const compilerOptions = (extra: Record<string, unknown>) => ({
      strict: true,
      noEmit: true,
      target: 'ES2022',
      lib: ['ES2022', 'ESNext.Disposable'],
      skipLibCheck: false,
      types: ['node'],
      // The consumer has no @types/node of its own: use the repository's (the same version memmap's types need).
      typeRoots: [join(REPO, 'node_modules/@types')],
      ...extra,
    });

    function typeCheck(name: string, tsconfig: object): void {
      writeFileSync(project(`tsconfig.${name}.json`), JSON.stringify(tsconfig, null, 2));
      const result = run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], { cwd: project(''), timeoutMs: SLOW });
      expect(result.status, describeResult(`tsc -p tsconfig.${name}.json`, result)).toBe(0);
    }

    it(
      'with module/moduleResolution node16, from an ES module (.mts) and a CommonJS module (.cts)',
      () => {
        mkdirSync(project('types-node16'));
        writeFileSync(project('types-node16/consumer.mts'), consumer);
        writeFileSync(project('types-node16/consumer.cts'), consumer);
        typeCheck('node16', {
          compilerOptions: compilerOptions({ module: 'node16', moduleResolution: 'node16' }),
          files: ['types-node16/consumer.mts', 'types-node16/consumer.cts'],
        });
      },
      SLOW,
    );

    it(
      'with moduleResolution bundler',
      () => {
        mkdirSync(project('types-bundler'));
        writeFileSync(project('types-bundler/consumer.ts'), consumer);
        typeCheck('bundler', {
          compilerOptions: compilerOptions({ module: 'esnext', moduleResolution: 'bundler' }),
          files: ['types-bundler/consumer.ts'],
        });
      },
      SLOW,
    );
  });
});
