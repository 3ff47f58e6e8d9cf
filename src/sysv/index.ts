/**
 * System V IPC: `ftok`, shared memory `Segment`s and their `Attachment`s, and `Semaphore`s, each usable from C
 * with the same key (see docs/shared.md).
 */
export { IpcObject, ftok } from './ipc.js';
export { Attachment, Segment, attachReadOnlyRaw } from './segment.js';
export type { AttachOptions, CreateSegmentOptions, SegmentStat } from './segment.js';
export { Semaphore } from './semaphore.js';
export type { AcquireOptions, CreateSemaphoreOptions } from './semaphore.js';
export type { SysvError } from './errors.js';
export type { IpcIdentity } from './ipc.js';
