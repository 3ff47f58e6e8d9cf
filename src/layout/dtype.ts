/**
 * `toDtype()`: the numpy dtype of a record, as the Python expression `np.dtype(...)` takes (the dict form with
 * names, formats, offsets and itemsize), so numpy can read the same file with `np.memmap(path, dtype=...)`.
 */
import type { ArrayType } from './array.js';
import { endianOf, hostEndian, type Aggregate, type AnyFieldType, type Endian } from './field.js';

const codes: Record<string, string> = {
  int8: 'i1',
  uint8: 'u1',
  int16: 'i2',
  uint16: 'u2',
  int32: 'i4',
  uint32: 'u4',
  int64: 'i8',
  uint64: 'u8',
  float32: 'f4',
  float64: 'f8',
};

/** The numpy dtype of `type` (a Python expression). */
export function toDtype(type: Aggregate): string {
  return aggregate(type, type.endian ?? hostEndian);
}

function aggregate(type: Aggregate, endian: Endian): string {
  const names = type.fields.map((f) => `'${f.name}'`).join(', ');
  const formats = type.fields.map((f) => format(f.type, endian)).join(', ');
  const offsets = type.fields.map((f) => f.offset).join(', ');
  return `{'names': [${names}], 'formats': [${formats}], 'offsets': [${offsets}], 'itemsize': ${type.size}}`;
}

function format(type: AnyFieldType, endian: Endian): string {
  const order = endian === 'little' ? '<' : '>';
  switch (type.kind) {
    case 'bool':
      return "'?'";
    case 'char':
      return `'S${type.size}'`;
    case 'bytes':
      return `('u1', (${type.size},))`;
    case 'array': {
      // numpy writes a C array of arrays as one subarray with a multi-dimensional shape.
      const shape: number[] = [];
      let element: AnyFieldType = type;
      while (element.kind === 'array') {
        shape.push((element as ArrayType).length);
        element = (element as ArrayType).element;
      }
      return `(${format(element, endian)}, (${shape.join(', ')},))`;
    }
    case 'struct':
    case 'union':
      return aggregate(type as Aggregate, endianOf(type, endian));
    default:
      return type.size === 1 ? `'${codes[type.kind]}'` : `'${order}${codes[type.kind]}'`;
  }
}
