/**
 * `fromSchema(json)`: rebuilds a record from its JSON description (schema-to.ts) and checks that the layout still
 * comes out the same on this machine. The JSON may come from a file: every node is checked, nothing is trusted.
 */
import { invalidArgType, invalidArgValue, memmapError } from '../errors.js';
import { array } from './array.js';
import { bytes } from './bytes.js';
import { char } from './char.js';
import { hostEndian, type AnyFieldType, type Endian } from './field.js';
import { scalars, type ScalarKind } from './scalar.js';
import type { AggregateSchema } from './schema-to.js';
import { createStructType, StructType } from './struct.js';

/**
 * Rebuilds a record from its JSON description (an object or a JSON string). Throws ERR_LAYOUT_MISMATCH if the
 * size, alignment or an offset recorded in it differs from what this machine's C ABI gives.
 */
export function fromSchema(schema: AggregateSchema | string): StructType {
  let parsed: unknown = schema;
  if (typeof schema === 'string') {
    try {
      parsed = JSON.parse(schema);
    } catch {
      throw invalidArgValue('schema', schema, 'must be JSON text (it does not parse)');
    }
  }
  const type = build(parsed, 'schema');
  if (!(type instanceof StructType)) throw invalidArgValue('schema', parsed, 'must describe a struct or union');
  return type as StructType;
}

/**
 * `inherited` is the byte order the node would have without an option of its own (the host's at the top): a
 * record whose stored order equals it gets no `endian` option, so it is rebuilt as it was described (and toC
 * prints no byte-order attribute for it).
 */
function build(value: unknown, path: string, inherited: Endian = hostEndian): AnyFieldType {
  if (typeof value === 'string') {
    if (!Object.prototype.hasOwnProperty.call(scalars, value))
      throw invalidArgValue(path, value, 'must name a scalar type (int8 ... float64, bool)');
    return scalars[value as ScalarKind];
  }
  if (value === null || typeof value !== 'object') throw invalidArgType(path, 'a field schema', value);
  const node = value as Record<string, unknown>;
  switch (node.kind) {
    case 'char':
      return char(node.length as number);
    case 'bytes':
      return bytes(node.length as number);
    case 'array':
      return array(build(node.element, `${path}.element`, inherited), node.length as number);
    case 'struct':
    case 'union': {
      const record = node as unknown as AggregateSchema;
      if (!Array.isArray(record.fields)) throw invalidArgType(`${path}.fields`, 'an array', record.fields);
      // A null-prototype object defined property by property: a member named `__proto__` stays a member (and is then
      // refused by struct() with a code), never silently becomes the object's prototype.
      const shape: Record<string, AnyFieldType> = Object.create(null) as Record<string, AnyFieldType>;
      record.fields.forEach((f: unknown, i) => {
        const where = `${path}.fields[${i}]`;
        if (f === null || typeof f !== 'object') throw invalidArgType(where, 'an object { name, offset, type }', f);
        const { name, type } = f as { name?: unknown; type?: unknown };
        if (typeof name !== 'string') throw invalidArgType(`${where}.name`, 'of type string', name);
        if (Object.prototype.hasOwnProperty.call(shape, name))
          throw invalidArgValue(`${where}.name`, name, 'must not repeat an earlier member name');
        const member = build(type, `${where}.type`, record.endian);
        Object.defineProperty(shape, name, { value: member, enumerable: true, writable: true, configurable: true });
      });
      const endian = record.endian === inherited ? undefined : record.endian;
      const options = {
        packed: record.packed,
        endian,
        ...(record.requestedAlign == null ? {} : { align: record.requestedAlign }),
      };
      const type = createStructType(record.kind, shape, options);
      const differs =
        type.size !== record.size ||
        type.align !== record.align ||
        type.fields.some((f, i) => f.offset !== record.fields[i]?.offset);
      if (differs)
        throw memmapError(
          'ERR_LAYOUT_MISMATCH',
          `The layout stored in the schema (${path}: size ${record.size}, align ${record.align}) differs from this machine's C ABI (size ${type.size}, align ${type.align}); the data was written by a different ABI.`,
        );
      return type;
    }
    default:
      throw invalidArgValue(`${path}.kind`, node.kind, "must be 'char', 'bytes', 'array', 'struct' or 'union'");
  }
}
