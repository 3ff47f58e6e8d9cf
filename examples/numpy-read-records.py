"""Reads a memmap RecordFile with numpy alone, from docs/format.md: no Node, no memmap.

    python3 examples/numpy-read-records.py FILE [N]

Checks the header, builds a numpy dtype from the schema stored in the file (scalars, char(n), bytes(n), arrays and
nested structs), maps the committed records with np.memmap and prints the first N (default 5) as JSON lines
(char(n) as text, bytes(n) as hex, structs and arrays as lists).
"""
import hashlib
import json
import sys

import numpy as np

SCALARS = {
    "int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4",
    "int64": "i8", "uint64": "u8", "float32": "f4", "float64": "f8", "bool": "?",
}


def dtype_of(schema, order):
    """The numpy dtype of a field schema (docs/format.md, "Schema"); `order` is '<' or '>'."""
    if isinstance(schema, str):
        code = SCALARS[schema]
        return np.dtype(code if code in ("i1", "u1", "?") else order + code)
    kind = schema["kind"]
    if kind in ("char", "bytes"):
        return np.dtype(f"S{schema['length']}" if kind == "char" else f"V{schema['length']}")
    if kind == "array":
        return np.dtype((dtype_of(schema["element"], order), (schema["length"],)))
    inner = "<" if schema.get("endian") == "little" else ">"
    fields = schema["fields"]
    return np.dtype({
        "names": [f["name"] for f in fields],
        "formats": [dtype_of(f["type"], inner) for f in fields],
        "offsets": [f["offset"] for f in fields],
        "itemsize": schema["size"],
    })


def open_records(path):
    with open(path, "rb") as f:
        head = f.read(80)
        if len(head) < 80 or head[:8] != b"MMRECORD":
            raise ValueError(f"{path}: not a record file")
        version, header_size, record_size, record_align = (int(v) for v in np.frombuffer(head, "<u4", 4, 8))
        count, capacity = (int(v) for v in np.frombuffer(head, "<u8", 2, 24))
        flags, schema_length = (int(v) for v in np.frombuffer(head, "<u4", 2, 40))
        if version not in (1, 2) or flags & ~1:
            raise ValueError(f"{path}: format version {version}, flags {flags:#x}: not version 1 or 2")
        schema_text = f.read(int(schema_length))
        if hashlib.sha256(b"memmap-layout-1\n" + schema_text).digest() != head[48:80]:
            raise ValueError(f"{path}: the schema does not match its hash")
    schema = json.loads(schema_text)
    dtype = dtype_of(schema, "<")
    if dtype.itemsize != record_size or count > capacity:
        raise ValueError(f"{path}: corrupt header")
    records = np.memmap(path, dtype=dtype, mode="r", offset=int(header_size), shape=(int(count),))
    return records, schema


def plain(value):
    """A record's value as JSON can hold it: char(n) as text, bytes(n) as hex, structs and arrays as lists."""
    if isinstance(value, bytes):
        return value.split(b"\0", 1)[0].decode("utf-8", errors="replace")
    if isinstance(value, np.void):
        if value.dtype.names is None:  # bytes(n): raw bytes, no fields
            return value.tobytes().hex()
        return [plain(value[name]) for name in value.dtype.names]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def main():
    path = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    records, schema = open_records(path)
    names = [f["name"] for f in schema["fields"]]
    print(json.dumps({"count": len(records), "fields": names}))
    for record in records[:limit]:
        print(json.dumps({name: plain(record[name]) for name in names}))


if __name__ == "__main__":
    main()
