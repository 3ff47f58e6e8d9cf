/**
 * memmap/unsafe: what cannot be made safe. Every export here can kill the process (SIGSEGV or SIGBUS) when used
 * in a way its doc warns about; the safe API (`memmap`) never can. Each entry says why it exists and why it is
 * not safe.
 */
// --- System V (issue #6) ---
export { attachReadOnlyRaw } from './sysv/index.js';
