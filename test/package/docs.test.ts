/**
 * The API reference builds: TypeDoc with typedoc.json (the `npm run docs` configuration), which treats every
 * warning as an error, so an exported item without a doc comment, a broken {@link} or a public type that is used
 * but not exported fails this test. Built into a temporary directory; `npm run docs` writes docs/api.
 *
 * Then the generated HTML is read as a user would browse it: one page per entry point, named by the import path
 * (scripts/typedoc-categories.mjs renames them), each with its description; the main module's items under their
 * category headings; the guides under docs/ rendered as pages of the reference.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp.ts';
import { cleanEnv, describeResult, REPO, run } from './helpers.ts';

/** The category headings of the main module's page, in the order typedoc.json's categoryOrder gives them. */
const CATEGORIES = [
  'Mapping',
  'Layout',
  'Record files',
  'Followers',
  'Shared memory',
  'Channels',
  'System V',
  'Export',
  'Errors',
];

/** The text of an HTML page: tags and scripts dropped, entities of the few characters TypeDoc escapes decoded. */
function pageText(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

/** The `<h2>` headings of an HTML page, in order. */
function h2Headings(html: string): string[] {
  return [...html.matchAll(/<h2\b[^>]*>([^<]*)/g)].map((match) => match[1]!.trim());
}

/** The member sections of a module page: each heading, and the names of the items listed under it. */
function categorySections(html: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  for (const section of html.split('<details class="tsd-panel-group').slice(1)) {
    const heading = h2Headings(section)[0];
    if (heading === undefined) continue;
    sections.set(
      heading,
      [...section.matchAll(/<a href="[^"#]+">([^<]+)<\/a>/g)].map((match) => match[1]!),
    );
  }
  return sections;
}

describe('API reference (TypeDoc)', () => {
  const dir = useTempDir('memmap-docs-');
  let built = false;
  const read = (page: string): string => readFileSync(dir(join('api', page)), 'utf8');

  beforeAll(() => {
    const typedoc = join(REPO, 'node_modules/typedoc/bin/typedoc');
    const result = run(process.execPath, [typedoc, '--options', join(REPO, 'typedoc.json'), '--out', dir('api')], {
      cwd: REPO,
      env: cleanEnv({ NO_COLOR: '1' }),
      timeoutMs: 180_000,
    });
    expect(result.status, describeResult('typedoc', result)).toBe(0);
    built = true;
  }, 180_000);

  it('builds with every public item documented, README as the front page', () => {
    expect(built).toBe(true);
    expect(existsSync(dir('api/index.html'))).toBe(true);
    expect(pageText(read('index.html'))).toContain('Memory-mapped files for Node.js');
  });

  it('names each entry point by its import path, with a page that explains it', () => {
    const pages = [
      ['modules/memmap.html', 'memmap', 'memory-mapped files, C-compatible records'],
      ['modules/memmap_mmap-io.html', 'memmap/mmap-io', 'deliberately differs from mmap-io 1.4'],
      ['modules/memmap_unsafe.html', 'memmap/unsafe', 'what cannot be made safe'],
    ] as const;
    for (const [page, name, description] of pages) {
      expect(existsSync(dir(join('api', page))), page).toBe(true);
      const html = read(page);
      expect(html, page).toMatch(new RegExp(`<h1>Module ${name.replace('/', '\\/')}\\b`));
      expect(pageText(html), page).toContain(description);
    }
    // No module keeps the name TypeDoc derives from the file path.
    for (const old of ['modules/index.html', 'modules/compat_mmap-io.html', 'modules/unsafe.html'])
      expect(existsSync(dir(join('api', old))), old).toBe(false);
  });

  it('groups the main module into categories, each described, with the mode tables', () => {
    const html = read('modules/memmap.html');
    const headings = h2Headings(html).filter((heading) => CATEGORIES.includes(heading));
    expect(headings).toEqual(CATEGORIES);
    // Everything landed in a named category: no catch-all.
    expect(h2Headings(html)).not.toContain('Other');
    const text = pageText(html);
    // Where options say "see the module's table": MappedFile's and RecordFile's modes, as real tables.
    expect(html).toMatch(/<td>'c'<\/td>\s*<td>O_RDONLY<\/td>/);
    expect(html).toMatch(/<td>'w\+'<\/td>\s*<td>O_RDWR\|O_CREAT\|O_TRUNC<\/td>/);
    expect(html).toMatch(/<td>'a\+'<\/td>\s*<td>opened; created when missing or empty<\/td>/);
    // Each item is listed under its category: a sample from each.
    const sections = categorySections(html);
    const sectionOf = (item: string): string | undefined =>
      [...sections].find(([, items]) => items.includes(item))?.[0];
    expect(sectionOf('MappedFile')).toBe('Mapping');
    expect(sectionOf('StructArray')).toBe('Layout');
    expect(sectionOf('RecordFile')).toBe('Record files');
    expect(sectionOf('followFile')).toBe('Followers');
    expect(sectionOf('Mutex')).toBe('Shared memory');
    expect(sectionOf('TypedChannel')).toBe('Channels');
    expect(sectionOf('Semaphore')).toBe('System V');
    expect(sectionOf('exportRecords')).toBe('Export');
    expect(sectionOf('CodedError')).toBe('Errors');
    // Descriptions are for users: no pointer into the repository's sources.
    expect(text).not.toMatch(/\b(?:src|native|include)\/[\w/-]+\.[ch]?[jt]?s?\b|\.\/[\w-]+\.ts/);
  });

  it('renders the guides as pages of the reference, linked from the README', () => {
    const guides = ['Record_file_format', 'Layout', 'Shared_memory_between_processes', 'Channel', 'Export'];
    for (const guide of guides) expect(existsSync(dir(`api/documents/${guide}.html`)), guide).toBe(true);
    expect(read('index.html')).toContain('href="documents/Record_file_format.html');
    expect(pageText(read('documents/Layout.html'))).toContain('describes a C record once');
  });
});
