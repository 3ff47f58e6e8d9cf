/**
 * `npm run bench`: runs every bench/*.bench.ts in this one process, prints each table of ratios, and writes
 * bench/results.json and its chart, docs/bench.svg (bench/chart.ts), which the README embeds.
 * `npm run bench -- layout` runs only the files whose name contains "layout" (and writes neither).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeChart, type BenchResults } from './chart.ts';
import { machine, printTable, type BenchTable } from './harness.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.ts') && (!filter || name.includes(filter)))
  .sort();

console.log(`# memmap benchmarks\n\nMachine: ${machine()}`);
const results: BenchTable[] = [];
for (const file of files) {
  const module = (await import(pathToFileURL(join(here, file)).href)) as { default: () => Promise<BenchTable[]> };
  for (const table of await module.default()) {
    printTable(table);
    results.push(table);
  }
}
if (!filter) {
  const all: BenchResults = { machine: machine(), date: new Date().toISOString(), tables: results };
  writeFileSync(join(here, 'results.json'), JSON.stringify(all, null, 2) + '\n');
  console.log(`\nWrote bench/results.json and ${relative(join(here, '..'), writeChart(all))}`);
}
