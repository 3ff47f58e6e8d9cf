/**
 * Draws bench/results.json as an SVG bar chart (docs/bench.svg, embedded in the README): one group of bars per
 * table, one bar per operation, each bar the operation's speed relative to its table's baseline on a log scale
 * (bars right of 1× are faster than the baseline, left of it slower), memmap's operations in colour, the peers in
 * grey, and the machine the numbers came from at the bottom. Hand-written SVG: no dependency.
 *
 *   node --import tsx bench/chart.ts [results.json] [out.svg]     (npm run bench:chart)
 *
 * `npm run bench` calls {@link writeChart} after writing bench/results.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchTable } from './harness.ts';

/** The content of bench/results.json. */
export interface BenchResults {
  machine: string;
  date: string;
  tables: BenchTable[];
}

const here = dirname(fileURLToPath(import.meta.url));
/** Where `npm run bench` writes its results, and where the README's chart is. */
export const RESULTS_PATH = join(here, 'results.json');
export const CHART_PATH = join(here, '..', 'docs', 'bench.svg');

// Geometry, in SVG user units (pixels at 100 %).
const PLOT_WIDTH = 420;
const VALUE_WIDTH = 130; // "12.3× · 4.56 ms" after the longest bar
const CHAR_WIDTH = 7; // a generous average advance of 12px sans-serif text, to size the label column
const BOLD_CHAR_WIDTH = 8; // the same for bold text (memmap's rows, group titles)
const MAX_LABEL_CHARS = 75; // longer operation names are cut with an ellipsis (the bar's tooltip has it whole)
const MIN_WIDTH = 900;
const BAR_HEIGHT = 16;
const BAR_GAP = 5;
const GROUP_TITLE = 26;
const GROUP_GAP = 14;
const HEADER = 64;
const FOOTER = 46;

const COLOR_MEMMAP = '#2563eb';
const COLOR_PEER = '#9ca3af';
const COLOR_TEXT = '#111827';
const COLOR_MUTED = '#6b7280';
const COLOR_GRID = '#e5e7eb';

/** Escapes text for an SVG text node or attribute. */
function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The peers and baselines the benchmarks measure memmap against: hand-written code, other libraries, Node's fs
 * and C. Every other row is one of memmap's own operations (MappedFile, StructArray, views, RecordFile, Mutex,
 * Segment, memmap/mmap-io, ...).
 */
const PEER =
  /hand-written|restructure|JS array|^fs\.|\bfs\.(read|write)|@riaskov\/mmap-io|\blmdb\b|sqlite|^C |pthread|numpy/i;

/** Whether a row measures memmap itself (drawn in colour) rather than a peer (grey). */
export function isMemmapRow(name: string): boolean {
  return !PEER.test(name);
}

/** An operation's name as drawn: cut to MAX_LABEL_CHARS. */
function label(name: string): string {
  return name.length <= MAX_LABEL_CHARS ? name : `${name.slice(0, MAX_LABEL_CHARS - 1)}…`;
}

function formatRatio(ratio: number): string {
  if (ratio >= 100) return `${ratio.toFixed(0)}×`;
  if (ratio >= 10) return `${ratio.toFixed(1)}×`;
  return `${ratio.toFixed(2)}×`;
}

function formatMs(ms: number): string {
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  if (ms >= 0.001) return `${(ms * 1000).toFixed(1)} µs`;
  return `${(ms * 1e6).toFixed(0)} ns`;
}

interface Bar {
  name: string;
  ms: number;
  ratio: number;
  memmap: boolean;
  baseline: boolean;
}

interface Group {
  title: string;
  baseline: string;
  bars: Bar[];
}

/** The bars of each table whose baseline was measured; rows without a positive time are left out. */
function groups(results: BenchResults): Group[] {
  const out: Group[] = [];
  for (const table of results.tables) {
    const base = table.rows.find((row) => row.name === table.baseline);
    if (!base || !(base.ms > 0)) continue;
    const bars = table.rows
      .filter((row) => Number.isFinite(row.ms) && row.ms > 0)
      .map((row) => ({
        name: row.name,
        ms: row.ms,
        ratio: base.ms / row.ms,
        memmap: isMemmapRow(row.name),
        baseline: row.name === table.baseline,
      }));
    if (bars.length > 0) out.push({ title: table.title, baseline: table.baseline, bars });
  }
  return out;
}

/** Renders the results as a complete SVG document. */
export function renderChart(results: BenchResults): string {
  const all = groups(results);
  const ratios = all.flatMap((group) => group.bars.map((bar) => bar.ratio));
  // Whole decades around every ratio and 1×, so the 1× line and the gridlines fall on round numbers.
  const low = Math.floor(Math.log10(Math.min(1, ...ratios)));
  let high = Math.ceil(Math.log10(Math.max(1, ...ratios)));
  if (high === low) high = low + 1;
  // The label column fits the longest operation name; the plot and value columns follow it.
  const textWidth = (text: string, bold: boolean) => text.length * (bold ? BOLD_CHAR_WIDTH : CHAR_WIDTH);
  const longest = Math.max(
    130,
    ...all.flatMap((group) => group.bars.map((bar) => textWidth(label(bar.name), bar.memmap))),
  );
  const PLOT_LEFT = 16 + Math.ceil(longest) + 10;
  const WIDTH = Math.max(MIN_WIDTH, PLOT_LEFT + PLOT_WIDTH + VALUE_WIDTH);
  const x = (ratio: number) => PLOT_LEFT + ((Math.log10(ratio) - low) / (high - low)) * PLOT_WIDTH;
  const one = x(1);

  const body: string[] = [];
  let y = HEADER;
  for (const group of all) {
    // The title row spans the width on a white band, so the gridlines stop at it.
    // The baseline follows the title on its line, or goes on a line of its own when both would not fit.
    const relative = `— relative to ${group.baseline}`;
    const oneLine = 16 + textWidth(group.title, true) + 6 + textWidth(relative, false) <= WIDTH - 16;
    const titleHeight = oneLine ? GROUP_TITLE : GROUP_TITLE + 16;
    body.push(
      `<rect x="0" y="${y + 2}" width="${WIDTH}" height="${titleHeight - 6}" fill="#ffffff"/>`,
      oneLine
        ? `<text x="16" y="${y + 17}" fill="${COLOR_TEXT}"><tspan font-weight="600">${escapeXml(group.title)}</tspan>` +
            `<tspan dx="6" fill="${COLOR_MUTED}">${escapeXml(relative)}</tspan></text>`
        : `<text x="16" y="${y + 17}" fill="${COLOR_TEXT}" font-weight="600">${escapeXml(group.title)}</text>` +
            `<text x="16" y="${y + 33}" fill="${COLOR_MUTED}">${escapeXml(relative)}</text>`,
    );
    y += titleHeight;
    for (const bar of group.bars) {
      const end = x(bar.ratio);
      const left = Math.min(one, end);
      const width = Math.max(Math.abs(end - one), 1.5); // the baseline's own bar is a visible tick
      const fill = bar.memmap ? COLOR_MEMMAP : COLOR_PEER;
      const value = `${formatRatio(bar.ratio)} · ${formatMs(bar.ms)}`;
      body.push(
        `<text x="${PLOT_LEFT - 10}" y="${y + BAR_HEIGHT - 4}" text-anchor="end" fill="${COLOR_TEXT}"${bar.memmap ? ' font-weight="600"' : ''}>${escapeXml(label(bar.name))}</text>`,
        `<rect x="${left.toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" rx="2" fill="${fill}"><title>${escapeXml(`${bar.name}: ${value} (vs ${group.baseline})`)}</title></rect>`,
        `<text x="${(Math.max(one, end) + 6).toFixed(1)}" y="${y + BAR_HEIGHT - 4}" fill="${COLOR_MUTED}">${escapeXml(value)}</text>`,
      );
      y += BAR_HEIGHT + BAR_GAP;
    }
    y += GROUP_GAP;
  }
  const plotBottom = y;

  const grid: string[] = [];
  for (let decade = low; decade <= high; decade++) {
    const gx = x(10 ** decade).toFixed(1);
    const tick = decade < 0 ? `${(10 ** decade).toFixed(-decade)}×` : `${10 ** decade}×`;
    grid.push(
      `<line x1="${gx}" y1="${HEADER - 6}" x2="${gx}" y2="${plotBottom}" stroke="${decade === 0 ? COLOR_MUTED : COLOR_GRID}"${decade === 0 ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<text x="${gx}" y="${HEADER - 10}" text-anchor="middle" fill="${COLOR_MUTED}">${tick}</text>`,
    );
  }

  const height = plotBottom + FOOTER;
  const date = results.date ? results.date.slice(0, 10) : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>memmap benchmarks: speed relative to each table's baseline</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="22" font-size="15" font-weight="700" fill="${COLOR_TEXT}">memmap benchmarks: speed relative to each table's baseline</text>`,
    `<text x="16" y="38" fill="${COLOR_MUTED}">log scale; right of 1× is faster than the baseline, left is slower; <tspan fill="${COLOR_MEMMAP}" font-weight="600">memmap</tspan> in blue, peers in grey; median ms per run after the ratio</text>`,
    ...grid,
    ...body,
    `<text x="16" y="${height - 24}" fill="${COLOR_MUTED}">Machine: ${escapeXml(results.machine)}</text>`,
    `<text x="16" y="${height - 9}" fill="${COLOR_MUTED}">Measured ${escapeXml(date)} with npm run bench (bench/results.json); numbers from one machine and one run: compare ratios, not times.</text>`,
    `</svg>`,
    '',
  ].join('\n');
}

/** Writes the chart of `results` to `path` (docs/bench.svg by default). */
export function writeChart(results: BenchResults, path: string = CHART_PATH): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderChart(results));
  return path;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [input = RESULTS_PATH, output = CHART_PATH] = process.argv.slice(2);
  const results = JSON.parse(readFileSync(input, 'utf8')) as BenchResults;
  console.log(`chart: ${writeChart(results, resolve(output))}`);
}
