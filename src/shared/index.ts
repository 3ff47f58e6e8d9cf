/** Cross-process coordination over shared memory: atomics, wait/notify (futex), and a robust Mutex. */
export { AtomicBigInt64, AtomicInt32 } from './atomics.js';
export type { Bytes } from './atomics.js';
export { ASYNC_WAIT_SLICE_MS, notify, wait, waitAsync } from './wait.js';
export type { WaitResult } from './wait.js';
export { Mutex } from './mutex.js';
export type { LockOptions, LockResult } from './mutex.js';
export { Channel, TypedChannel, TypedChannelFactory } from './channel.js';
