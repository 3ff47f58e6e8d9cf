/**
 * The benchmark chart (bench/chart.ts): drawn from a small hand-made results.json, and the committed
 * docs/bench.svg is the drawing of the committed bench/results.json, embedded in the README.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART_PATH, isMemmapRow, renderChart, RESULTS_PATH, type BenchResults } from '../../bench/chart.ts';
import { REPO } from './helpers.ts';

const sample: BenchResults = {
  machine: 'Test CPU <fast> & small, 2 cores, linux x64, Node v20.20.2',
  date: '2026-11-23T12:00:00.000Z',
  tables: [
    {
      title: 'Decode 1e6 records',
      baseline: 'restructure',
      rows: [
        { name: 'restructure', ms: 1900 },
        { name: 'memmap StructArray.get', ms: 95 },
      ],
    },
    {
      title: 'Map and unmap 1 MiB',
      baseline: 'mmap-io map',
      rows: [
        { name: 'mmap-io map', ms: 0.02 },
        { name: 'memmap MappedFile.open/close', ms: 0.04 },
      ],
    },
    { title: 'No baseline measured', baseline: 'missing', rows: [{ name: 'memmap x', ms: 1 }] },
  ],
};

describe('bench chart', () => {
  const svg = renderChart(sample);

  it('is one SVG document whose tags balance', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const tag of ['svg', 'text', 'tspan', 'title']) {
      const opened = svg.match(new RegExp(`<${tag}[\\s>]`, 'g'))?.length ?? 0;
      expect(svg.match(new RegExp(`</${tag}>`, 'g'))?.length ?? 0, tag).toBe(opened);
    }
  });

  it('draws one group per table with a measured baseline, one bar per operation, as ratios', () => {
    expect(svg).toContain('Decode 1e6 records');
    expect(svg).toContain('Map and unmap 1 MiB');
    expect(svg).not.toContain('No baseline measured');
    expect(svg).toContain('20.0× · 95.0 ms'); // 1900 / 95
    expect(svg).toContain('0.50× · 40.0 µs'); // slower than its baseline: a bar left of 1×
    expect(svg.match(/<rect [^>]*rx="2"/g)?.length).toBe(4); // the bars
  });

  it('colours memmap and its peers differently', () => {
    for (const name of [
      'memmap StructArray.get',
      'students.at(i).age += 1',
      'RecordFile get ×1e6',
      'memmap/mmap-io: map',
      'Segment attach',
    ]) {
      expect(isMemmapRow(name), name).toBe(true);
    }
    for (const name of [
      'restructure decode',
      'hand-written DataView',
      'lmdb get ×1e6',
      'better-sqlite3 insert',
      'fs.readSync(out)',
      'fs.readFileSync',
      '@riaskov/mmap-io: openSync + map',
      'C memcpy into the mapping',
      'C pthread robust mutex lock+unlock',
      'JS array of objects',
    ]) {
      expect(isMemmapRow(name), name).toBe(false);
    }
    expect(svg).toContain('#2563eb');
    expect(svg).toContain('#9ca3af');
  });

  it('names the machine at the bottom, escaped', () => {
    expect(svg).toContain('Machine: Test CPU &lt;fast&gt; &amp; small, 2 cores');
  });

  it.runIf(existsSync(RESULTS_PATH))('docs/bench.svg is the chart of the committed bench/results.json', () => {
    const results = JSON.parse(readFileSync(RESULTS_PATH, 'utf8')) as BenchResults;
    expect(readFileSync(CHART_PATH, 'utf8')).toBe(renderChart(results));
  });

  it('is embedded in the README', () => {
    expect(existsSync(CHART_PATH)).toBe(true);
    expect(readFileSync(join(REPO, 'README.md'), 'utf8')).toMatch(/!\[[^\]]*\]\(docs\/bench\.svg\)/);
  });
});
