/**
 * A record description as JSON, and back: `toSchema` (schema-to.ts), `fromSchema` (schema-from.ts) and the
 * stable `schemaHash` (schema-hash.ts) a file stores to check it on reopen.
 */
export { toSchema, type AggregateSchema, type FieldSchema } from './schema-to.js';
export { fromSchema } from './schema-from.js';
export { schemaHash, schemaTextHash, SCHEMA_HASH_PREFIX } from './schema-hash.js';
