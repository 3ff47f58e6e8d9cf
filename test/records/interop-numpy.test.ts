/** numpy reads a record file from docs/format.md alone (examples/numpy-read-records.py), when python3 has numpy. */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { array, bool, char, float32, int16, int64, RecordFile, struct, uint8 } from '../../src/index.js';
import { useTempDir } from '../helpers/temp.js';

const tmp = useTempDir('memmap-records-numpy-');
const script = fileURLToPath(new URL('../../examples/numpy-read-records.py', import.meta.url));
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasNumpy)('numpy reads a record file', () => {
  it('decodes every kind of field from the schema in the header', () => {
    const Point = struct({ x: float32, y: float32 });
    const Row = struct({ id: int64, tag: char(6), ok: bool, small: int16, where: Point, hist: array(uint8, 3) });
    const path = tmp('rows.db');
    {
      using db = RecordFile.open(path, Row);
      for (let i = 0; i < 4; i++)
        db.push({ id: BigInt(i) * 10_000_000_000n, tag: `t${i}`, ok: i % 2 === 0, small: -i, where: { x: i, y: i / 2 }, hist: [i, i + 1, 255] });
    }
    const lines = execFileSync('python3', [script, path, '10'], { encoding: 'utf8' }).trim().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ count: 4, fields: ['id', 'tag', 'ok', 'small', 'where', 'hist'] });
    expect(JSON.parse(lines[3]!)).toEqual({ id: 20_000_000_000, tag: 't2', ok: true, small: -2, where: [2, 1], hist: [2, 3, 255] });
    expect(lines).toHaveLength(5);
  });
});
