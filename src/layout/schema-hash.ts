/**
 * The schema hash: sha-256 of a fixed domain prefix and the schema text (the JSON of `toSchema`). The one place it
 * is computed: a struct's `hash` and a record file's stored hash (src/records) both come from here.
 */
import { createHash } from 'node:crypto';
import type { Aggregate } from './field.js';
import { toSchema } from './schema-to.js';

/** What the hash covers before the schema text: the domain of layout schema hashes, version 1. */
export const SCHEMA_HASH_PREFIX = 'memmap-layout-1\n';

/** SHA-256 (64 hex digits) of SCHEMA_HASH_PREFIX followed by `text`, a schema as JSON text. */
export function schemaTextHash(text: string): string {
  return createHash('sha256')
    .update(SCHEMA_HASH_PREFIX + text, 'utf8')
    .digest('hex');
}

/** The sha-256 (hex) of the record's JSON description: equal records, equal hashes, on any run. */
export function schemaHash(type: Aggregate): string {
  return schemaTextHash(JSON.stringify(toSchema(type)));
}
