"""Reads a memmap RecordFile with Python's standard library alone (ctypes + mmap), from docs/format.md.

    python3 examples/ctypes-read-records.py FILE [N]

For Python programs without numpy. Checks the header, builds a ctypes Structure from the schema stored in the file
(scalars, char(n), bytes(n), arrays, nested structs and unions, packed or not, either byte order), checks that
ctypes lays it out exactly as the schema says (size and every offset: the same C ABI), maps the file read-only and
prints the first N committed records (default 5) as JSON lines: char(n) as text, bytes(n) as hex, structs and
arrays as lists, in the same form as numpy-read-records.py.
"""
import ctypes
import hashlib
import json
import mmap
import struct
import sys

SCALARS = {
    "int8": ctypes.c_int8, "uint8": ctypes.c_uint8, "int16": ctypes.c_int16, "uint16": ctypes.c_uint16,
    "int32": ctypes.c_int32, "uint32": ctypes.c_uint32, "int64": ctypes.c_int64, "uint64": ctypes.c_uint64,
    "float32": ctypes.c_float, "float64": ctypes.c_double, "bool": ctypes.c_bool,
}


class CharArray:
    """Marks a char(n) member, read as text cut at the first NUL (C string semantics)."""


class ByteArray:
    """Marks a bytes(n) member, read as hex."""


def ctype_of(schema, big_endian):
    """The ctypes type of a field schema (docs/format.md, "Schema")."""
    if isinstance(schema, str):
        return SCALARS[schema]
    kind = schema["kind"]
    if kind == "char":
        return type("char", (ctypes.c_char * schema["length"], CharArray), {})
    if kind == "bytes":
        return type("bytes", (ctypes.c_uint8 * schema["length"], ByteArray), {})
    if kind == "array":
        return ctype_of(schema["element"], big_endian) * schema["length"]
    inner_big = schema.get("endian") == "big"
    if kind == "struct":
        base = ctypes.BigEndianStructure if inner_big else ctypes.LittleEndianStructure
    else:
        base = ctypes.BigEndianUnion if inner_big else ctypes.LittleEndianUnion
    attributes = {"_fields_": [(f["name"], ctype_of(f["type"], inner_big)) for f in schema["fields"]]}
    if schema.get("packed"):
        attributes["_pack_"] = 1
        attributes["_layout_"] = "ms"  # _pack_ means #pragma pack(1), which is what packed gives for these members
    record = type(kind, (base,), attributes)
    check_layout(record, schema)
    return record


def check_layout(record, schema):
    """ctypes must lay the record out as the C compiler that wrote the schema did; refuse to guess otherwise."""
    if schema.get("requestedAlign"):
        raise ValueError("records with an explicit align option are not supported by this reader")
    if ctypes.sizeof(record) != schema["size"]:
        raise ValueError(f"ctypes lays out the record in {ctypes.sizeof(record)} bytes, the schema says {schema['size']}")
    for field in schema["fields"]:
        offset = getattr(record, field["name"]).offset
        if offset != field["offset"]:
            raise ValueError(f"member {field['name']}: ctypes puts it at {offset}, the schema at {field['offset']}")


def plain(value):
    """A ctypes value as JSON can hold it."""
    if isinstance(value, CharArray):
        return bytes(value).split(b"\0", 1)[0].decode("utf-8", errors="replace")
    if isinstance(value, ByteArray):
        return bytes(value).hex()
    if isinstance(value, bytes):  # a char(n) read through a Structure field: ctypes already cut it at the NUL
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (ctypes.Structure, ctypes.Union)):
        return [plain(getattr(value, name)) for name, _ in value._fields_]
    if isinstance(value, ctypes.Array):
        return [plain(v) for v in value]
    return value


def open_records(path):
    """The header's fields, the schema and the record type; raises ValueError for anything but a record file."""
    with open(path, "rb") as f:
        head = f.read(80)
        if len(head) < 80 or head[:8] != b"MMRECORD":
            raise ValueError(f"{path}: not a record file")
        version, header_size, record_size, _align, count, capacity, flags, schema_length = struct.unpack_from(
            "<IIIIQQII", head, 8)
        if version not in (1, 2) or flags & ~1:
            raise ValueError(f"{path}: format version {version}, flags {flags:#x}: not a version this reader knows")
        schema_text = f.read(schema_length)
        if hashlib.sha256(b"memmap-layout-1\n" + schema_text).digest() != head[48:80]:
            raise ValueError(f"{path}: the schema does not match its hash")
    schema = json.loads(schema_text)
    record = ctype_of(schema, schema.get("endian") == "big")
    if ctypes.sizeof(record) != record_size or count > capacity:
        raise ValueError(f"{path}: corrupt header")
    return header_size, count, schema, record


def main():
    path = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    header_size, count, schema, record = open_records(path)
    names = [f["name"] for f in schema["fields"]]
    print(json.dumps({"count": count, "fields": names}))
    with open(path, "rb") as f:
        if count == 0:
            return
        with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mapped:
            size = ctypes.sizeof(record)
            for i in range(min(limit, count)):
                # from_buffer_copy: a read-only mapping cannot back a ctypes object; one record's copy is cheap.
                value = record.from_buffer_copy(mapped, header_size + i * size)
                print(json.dumps({name: plain(getattr(value, name)) for name in names}))


if __name__ == "__main__":
    main()
