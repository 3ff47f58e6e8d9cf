{
  "targets": [
    {
      "target_name": "memmap",
      "sources": [
        "native/memmap.c",
        "native/common.c",
        "native/mapping.c",
        "native/mapping_registry.c",
        "native/file.c",
        "native/sysv.c",
        "native/retire.c",
        "native/sync.c",
        "native/signals.c"
      ],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
