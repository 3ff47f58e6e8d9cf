/**
 * A small seeded generator (mulberry32) for the fuzzers and every test that draws cases at random: the same seed
 * gives the same sequence on every runtime, so a failing run is repeated by its seed.
 */

/** Draws from one seeded sequence. */
export interface SeededRandom {
  // Plain functions (closures over the state, no `this`): a fuzzer takes them apart, `const { int } = random`.
  /** A float in [0, 1). */
  readonly next: () => number;
  /** An integer in [lo, hi], both included. */
  readonly int: (lo: number, hi: number) => number;
  /** True with probability `p`. */
  readonly chance: (p: number) => boolean;
  /** One of `items`. */
  readonly pick: <T>(items: readonly T[]) => T;
  /** `n` random bytes. */
  readonly bytes: (n: number) => Uint8Array;
}

/** The sequence of `seed` (any number; its low 32 bits count). Its `next` is the fuzzers' former `random()`. */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
  };
}
