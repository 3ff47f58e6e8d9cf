/**
 * `npm run bench` (scripts/bench.mjs installs the peers, then runs this): runs every bench/*.bench.ts in this one
 * process and prints each table of ratios.
 *
 * - `npm run bench` writes the results to bench/results.local.json (ignored by git): a run on a user's machine never
 *   dirties the work tree.
 * - `npm run bench -- --save` writes the committed bench/results.json and redraws its chart, docs/bench.svg
 *   (bench/chart.ts), which the README embeds.
 * - `npm run bench -- layout` runs only the files whose name contains "layout" (and writes nothing).
 *
 * A bench file that cannot run here (a peer that does not build on this Node, for instance) is reported in one line
 * and the others still run; with `--save`, such a run writes nothing, so the committed results stay whole.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeChart, type BenchResults } from './chart.ts';
import { machine, printTable, type BenchTable } from './harness.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const save = args.includes('--save');
const filter = args.find((arg) => !arg.startsWith('--'));
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.ts') && (!filter || name.includes(filter)))
  .sort();

console.log(`# memmap benchmarks\n\nMachine: ${machine()}`);
const results: BenchTable[] = [];
const failed: string[] = [];
for (const file of files) {
  try {
    const module = (await import(pathToFileURL(join(here, file)).href)) as { default: () => Promise<BenchTable[]> };
    for (const table of await module.default()) {
      printTable(table);
      results.push(table);
    }
  } catch (error) {
    failed.push(file);
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const reason = error instanceof Error ? `${code ?? error.name}: ${error.message}` : error;
    console.log(`\n## ${file}: could not run on Node ${process.version}: ${String(reason).split('\n')[0]}`);
  }
}
const root = join(here, '..');
if (filter) {
  console.log('\nA filtered run writes no results.');
} else {
  const all: BenchResults = { machine: machine(), date: new Date().toISOString(), tables: results };
  if (!save) {
    const path = join(here, 'results.local.json');
    writeFileSync(path, JSON.stringify(all, null, 2) + '\n');
    console.log(`\nWrote ${relative(root, path)} (ignored by git; \`npm run bench -- --save\` writes results.json).`);
  } else if (failed.length > 0) {
    console.log(`\n--save: nothing written, ${failed.join(', ')} did not run.`);
    process.exitCode = 1;
  } else {
    writeFileSync(join(here, 'results.json'), JSON.stringify(all, null, 2) + '\n');
    console.log(`\nWrote bench/results.json and ${relative(root, writeChart(all))}`);
  }
}
if (failed.length > 0 && !save) process.exitCode = 1;
