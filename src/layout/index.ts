/** The layout module: C-ABI records over any bytes, with inferred TypeScript types and generated accessors. */
export { int8, uint8, int16, uint16, int32, uint32, int64, uint64, float32, float64, bool } from './scalar.js';
export type { ScalarKind, ScalarType } from './scalar.js';
export { char, type CharType } from './char.js';
export { bytes, type BytesType } from './bytes.js';
export { array, type ArrayType } from './array.js';
export {
  struct,
  union,
  StructType,
  type Shape,
  type StructOptions,
  type Field,
  type RecordOf,
  type RecordInput,
  type UnionInput,
  type RecordView,
  type ArrayOptions,
} from './struct.js';
export { StructArray, type ColumnArrays, type ColumnName, type ColumnOf, type Cursor } from './struct-array.js';
export { fromSchema, schemaHash, toSchema, type AggregateSchema, type FieldSchema } from './schema.js';
export type { CDeclarationOptions } from './c-declaration.js';
export type { Aggregate, AnyFieldType, Endian, FieldType, Infer, InferInput, InferView } from './field.js';
export { hostEndian } from './field.js';
export type { ByteSource } from './source.js';
