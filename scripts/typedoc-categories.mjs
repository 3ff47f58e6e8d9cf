/**
 * TypeDoc plugin (loaded by typedoc.json): names the three entry points by their import path, gives each module
 * page the description at the top of its entry file (for memmap/mmap-io, its default export's instead, which is
 * what the published .d.ts carries and lists every difference from mmap-io), names each guide by its title, and
 * groups the main module's items into categories by the source file each is declared in, so that no `@category`
 * tag has to be written across src/. Each category's description is the opening of its main file's header
 * comment (the mode tables of MappedFile and RecordFile), without the parenthetical pointers to repository files
 * that only a developer can follow. Runs before TypeDoc resolves links and categories, so that validation, links
 * and the category index all see the final names.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Comment, CommentTag, Converter, ReflectionKind } from 'typedoc';

/** The package's root: this plugin lives in its scripts/ directory. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Entry file (package-relative) → the import path users write. */
const MODULE_NAMES = new Map([
  ['src/index.ts', 'memmap'],
  ['src/compat/mmap-io.ts', 'memmap/mmap-io'],
  ['src/unsafe.ts', 'memmap/unsafe'],
]);

/** Category of an item by the file it is declared in: the first pattern that matches wins. */
const CATEGORIES = [
  [/^src\/mapped-file\.ts$/, 'Mapping'],
  [/^src\/native\.ts$/, 'Mapping'],
  [/^src\/layout\//, 'Layout'],
  [/^src\/records\/follow[^/]*\.ts$/, 'Followers'],
  [/^src\/records\//, 'Record files'],
  [/^src\/shared\/channel[^/]*\.ts$/, 'Channels'],
  [/^src\/shared\//, 'Shared memory'],
  [/^src\/sysv[/.]/, 'System V'],
  [/^src\/export\//, 'Export'],
  [/^src\/errors\.ts$/, 'Errors'],
  [/^src\/error-codes\.ts$/, 'Errors'],
];

/** Category → the file whose header comment describes it. */
const CATEGORY_FILES = new Map([
  ['Mapping', 'src/mapped-file.ts'],
  ['Layout', 'src/layout/index.ts'],
  ['Record files', 'src/records/record-file.ts'],
  ['Followers', 'src/records/follow.ts'],
  ['Shared memory', 'src/shared/index.ts'],
  ['Channels', 'src/shared/channel.ts'],
  ['System V', 'src/sysv/index.ts'],
  ['Export', 'src/export/export-records.ts'],
  ['Errors', 'src/errors.ts'],
]);

/** A parenthesis that points into the repository's sources: `(./commit-word.ts, ...)`, `(native/sigbus.c)`. */
const SOURCE_POINTER = /\s*\([^()]*(?:\b(?:src|native|include|lib)\/|\.\/)[^()]*\)/g;

/** The paragraphs of the `/** ... *\/` comment a file opens with (empty when it opens with something else). */
function headerParagraphs(file) {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const match = /^\/\*\*([\s\S]*?)\*\//.exec(text);
  if (!match) return [];
  const lines = match[1].split('\n').map((line) => line.replace(/^\s*\* ?/, '').trimEnd());
  return lines
    .join('\n')
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph !== '');
}

/** What a category's heading says: the header's first paragraph, and the table right after it if there is one. */
function categoryDescription(file) {
  const [first, second] = headerParagraphs(file);
  if (first === undefined) return undefined;
  const parts = [first.replace(SOURCE_POINTER, '')];
  // A `|` inside a cell (O_RDWR|O_CREAT) would split it: escape those not written as a column separator.
  if (second?.startsWith('|')) parts.push(second.replace(/(?<=\w)\|(?=\w)/g, '\\|'));
  return parts.join('\n\n');
}

/** The file (relative to the package) a reflection's symbol is declared in, or undefined. */
function declaredIn(project, reflection) {
  return project.getSymbolIdFromReflection(reflection)?.packagePath?.replace(/\\/g, '/');
}

/** Adds `@category name` to the comment TypeDoc's CategoryPlugin reads for this reflection. */
function assignCategory(reflection, name) {
  const tag = new CommentTag('@category', [{ kind: 'text', text: name }]);
  const target = reflection.comment ?? reflection.signatures?.find((signature) => signature.comment)?.comment;
  if (target) {
    target.blockTags = target.blockTags.filter((existing) => existing.tag !== '@category');
    target.blockTags.push(tag);
  } else {
    reflection.comment = new Comment([], [tag]);
  }
}

/** The module's comment: its entry file's header; for memmap/mmap-io, its default export's documentation. */
function describeModule(app, module, file) {
  const header = headerParagraphs(file).join('\n\n').replace(SOURCE_POINTER, '');
  if (header === '') {
    app.logger.error(`typedoc-categories: ${file} opens with no doc comment to describe ${module.name}`);
    return;
  }
  let summary = [{ kind: 'text', text: header }];
  if (module.name === 'memmap/mmap-io') {
    // The file's header only points to the default export, whose comment says it all (and ships in the .d.ts).
    const defaultExport = module.getChildByName('default');
    if (!defaultExport?.comment) {
      app.logger.error('typedoc-categories: memmap/mmap-io has no documented default export to describe it');
      return;
    }
    summary = defaultExport.comment.summary.map((part) => ({ ...part }));
  }
  module.comment = new Comment(summary, module.comment?.blockTags ?? []);
}

/** `@categoryDescription` tags on the main module, which TypeDoc's CategoryPlugin puts under each heading. */
function describeCategories(app, module) {
  for (const [category, file] of CATEGORY_FILES) {
    const description = categoryDescription(file);
    if (description === undefined) {
      app.logger.error(`typedoc-categories: ${file} opens with no doc comment to describe ${category}`);
      continue;
    }
    module.comment.blockTags.push(
      new CommentTag('@categoryDescription', [{ kind: 'text', text: `${category}\n${description}` }]),
    );
  }
}

/** Each guide (projectDocuments) is named by its `# Title` (up to a colon or comma) rather than its file name. */
function nameDocuments(project) {
  for (const document of project.documents ?? []) {
    const text = document.content.map((part) => part.text).join('');
    const title = /^#\s+([^:,\n]+)/m.exec(text)?.[1]?.trim();
    if (title) document.name = title;
  }
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(
    Converter.EVENT_RESOLVE_BEGIN,
    (context) => {
      const { project } = context;
      nameDocuments(project);
      for (const module of project.getChildrenByKind(ReflectionKind.Module)) {
        const file = declaredIn(project, module);
        const name = file === undefined ? undefined : MODULE_NAMES.get(file);
        if (name === undefined) {
          app.logger.error(`typedoc-categories: entry point ${module.name} (${file}) has no import-path name`);
          continue;
        }
        module.name = name;
        describeModule(app, module, file);
        if (name !== 'memmap') continue;
        describeCategories(app, module);
        for (const child of module.children ?? []) {
          const source = declaredIn(project, child);
          const category = CATEGORIES.find(([pattern]) => source !== undefined && pattern.test(source))?.[1];
          if (category === undefined) {
            app.logger.error(`typedoc-categories: ${child.name} (declared in ${source}) matches no category`);
            continue;
          }
          assignCategory(child, category);
        }
      }
    },
    // Before CategoryPlugin and link resolution.
    100,
  );
}
