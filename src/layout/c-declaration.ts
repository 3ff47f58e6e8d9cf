/**
 * `toC(name)`: the C declaration of a record, so a C program can share it. Nested records become named types
 * (`struct student_address`), packed/align become GCC attributes, and a byte order other than the host's becomes
 * GCC's `scalar_storage_order`. By default it ends with `_Static_assert`s, so a compiler whose ABI would lay the
 * record out differently refuses to compile it.
 */
import { invalidArgValue } from '../errors.js';
import type { ArrayType } from './array.js';
import { endianOf, hostEndian, type Aggregate, type AnyFieldType, type Endian } from './field.js';
import type { ScalarType } from './scalar.js';

/** Options of `toC`. */
export interface CDeclarationOptions {
  /** Append `_Static_assert`s of sizeof, _Alignof and every offsetof (default true). */
  staticAsserts?: boolean;
  /** Start with `#include <stdint.h>` and `<stdbool.h>` (default true). */
  includes?: boolean;
}

const keywords = new Set(
  (
    'auto break case char const continue default do double else enum extern float for goto if inline int long ' +
    'register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while ' +
    '_Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert _Thread_local bool true ' +
    'false alignas alignof asm typeof'
  ).split(' '),
);

/** The C declaration of `type` as `struct name` (or `union name`). */
export function toCDeclaration(type: Aggregate, name: string, options: CDeclarationOptions = {}): string {
  checkName(name, 'name');
  const names = new Map<string, string>();
  const used = new Set<string>();
  const blocks: string[] = [];
  const asserts: string[] = [];

  const declare = (record: Aggregate, endian: Endian, wanted: string): string => {
    const key = endian;
    const existing = names.get(identityKey(record, key));
    if (existing !== undefined) return existing;
    let tag = wanted;
    for (let i = 2; used.has(tag); i++) tag = `${wanted}${i}`;
    used.add(tag);
    names.set(identityKey(record, key), tag);
    const lines: string[] = [];
    for (const field of record.fields) {
      checkName(field.name, `fields.${field.name}`);
      lines.push(`  ${member(field.type, field.name, endian, `${tag}_${field.name}`)};`);
    }
    const attributes: string[] = [];
    if ((record as { packed?: boolean }).packed) attributes.push('packed');
    const requested = (record as { requestedAlign?: number }).requestedAlign;
    if (requested !== undefined) attributes.push(`aligned(${requested})`);
    if (record.endian !== undefined || endian !== hostEndian)
      attributes.push(`scalar_storage_order("${endian}-endian")`);
    const attribute = attributes.length > 0 ? ` __attribute__((${attributes.join(', ')}))` : '';
    blocks.push(`${record.kind}${attribute} ${tag} {\n${lines.join('\n')}\n};`);
    const cName = `${record.kind} ${tag}`;
    asserts.push(`_Static_assert(sizeof(${cName}) == ${record.size}, "sizeof(${cName})");`);
    asserts.push(`_Static_assert(_Alignof(${cName}) == ${record.align}, "_Alignof(${cName})");`);
    for (const field of record.fields)
      asserts.push(
        `_Static_assert(offsetof(${cName}, ${field.name}) == ${field.offset}, "offsetof(${cName}, ${field.name})");`,
      );
    return tag;
  };

  // A member declaration: `int32_t age`, `char name[4]`, `struct student_pos pos[3][2]`.
  const member = (type: AnyFieldType, declarator: string, endian: Endian, nestedName: string): string => {
    switch (type.kind) {
      case 'char':
        return `char ${declarator}[${type.size}]`;
      case 'bytes':
        return `uint8_t ${declarator}[${type.size}]`;
      case 'array': {
        const array = type as ArrayType;
        return member(array.element, `${declarator}[${array.length}]`, endian, nestedName);
      }
      case 'struct':
      case 'union': {
        const record = type as Aggregate;
        const tag = declare(record, endianOf(record, endian), nestedName);
        return `${record.kind} ${tag} ${declarator}`;
      }
      default:
        return `${(type as ScalarType).cType} ${declarator}`;
    }
  };

  const top = declare(type, type.endian ?? hostEndian, name);
  if (top !== name) throw new Error('unreachable: the top record is declared first');
  const parts: string[] = [];
  if (options.includes !== false) parts.push('#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n');
  parts.push(blocks.join('\n\n'));
  if (options.staticAsserts !== false) parts.push(asserts.join('\n'));
  return `${parts.join('\n')}\n`;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 0;

/** A key naming one record type in one byte order (the same type nested twice is declared once). */
function identityKey(record: object, endian: string): string {
  let id = identities.get(record);
  if (id === undefined) identities.set(record, (id = nextIdentity++));
  return `${id}:${endian}`;
}

function checkName(name: unknown, what: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || keywords.has(name))
    throw invalidArgValue(what, name, 'must be a C identifier that is not a C keyword');
}
