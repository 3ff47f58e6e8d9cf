/**
 * TypeDoc plugin (loaded by typedoc.json): names the three entry points by their import path and groups the main
 * module's items into categories by the source file each is declared in, so that no `@category` tag has to be
 * written across src/. Runs before TypeDoc resolves links and categories, so that validation, links and the
 * category index all see the final names.
 */
import { Comment, CommentTag, Converter, ReflectionKind } from 'typedoc';

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

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(
    Converter.EVENT_RESOLVE_BEGIN,
    (context) => {
      const { project } = context;
      for (const module of project.getChildrenByKind(ReflectionKind.Module)) {
        const file = declaredIn(project, module);
        const name = file === undefined ? undefined : MODULE_NAMES.get(file);
        if (name === undefined) {
          app.logger.error(`typedoc-categories: entry point ${module.name} (${file}) has no import-path name`);
          continue;
        }
        module.name = name;
        if (name !== 'memmap') continue;
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
