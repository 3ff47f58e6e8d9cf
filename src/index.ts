/** memmap: memory-mapped files, C-compatible records, persistent record files and shared memory for Node.js. */
export { MappedFile, MAX_MAPPING_LENGTH } from './mapped-file.js';
export type { Advice, ByteRange, FlushOptions, MapMode, OpenOptions, Residency } from './mapped-file.js';
export { PAGE_SIZE } from './native.js';
export type { CodedError, SystemError } from './errors.js';
export * from './layout/index.js';
export * from './records/index.js';
// --- shared memory and synchronisation (issue #6) ---
export { Attachment, IpcObject, Segment, Semaphore, ftok } from './sysv/index.js';
export type {
  AcquireOptions,
  AttachOptions,
  CreateSegmentOptions,
  CreateSemaphoreOptions,
  IpcIdentity,
  SegmentStat,
  SysvError,
} from './sysv/index.js';
export { AtomicBigInt64, AtomicInt32, Mutex, notify, wait, waitAsync } from './shared/index.js';
export type { Bytes, LockOptions, LockResult, WaitResult } from './shared/index.js';
export { defaultExportPath, exportRecords } from './export/export-records.js';
export type { ExportFormat, ExportOptions, ExportResult } from './export/export-records.js';
export {
  Channel,
  TypedChannel,
  TypedChannelFactory,
  type ChannelOpenOptions,
  type ChannelWaitOptions,
  type MessageBytes,
  type RecordCodec,
  type ChannelValue,
  type ChannelInput,
} from './shared/channel.js';
