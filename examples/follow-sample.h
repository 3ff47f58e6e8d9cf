/* The record the follow examples and tests write: Sample = struct({ seq: uint64, value: float64 }) in memmap. */
#ifndef FOLLOW_SAMPLE_H
#define FOLLOW_SAMPLE_H
#include <stdint.h>

struct sample {
  uint64_t seq; /* the record's index */
  double value; /* seq * 0.5 */
};

#define HEADER_MAGIC "MMRECORD"
#define OFFSET_VERSION 8
#define OFFSET_HEADER_SIZE 12
#define OFFSET_RECORD_SIZE 16
#define OFFSET_COUNT 24
#define OFFSET_CAPACITY 32
#endif
