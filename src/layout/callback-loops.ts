/**
 * forEach loops compiled per callback. A forEach over many records runs its whole loop in one call, so V8 optimizes
 * it by on-stack replacement inside forEach itself, where the call of the callback is one call site shared by every
 * caller of that type's forEach: with two callbacks it goes megamorphic, the callback is never inlined, and every
 * record costs a full call and a view that escapes (measured: 0.08x of a hand-written loop on Node 20, 0.17x on
 * Node 24). Here each callback's source text gets a loop of its own (its own compiled code and type feedback), so
 * the call site sees the closures of one function literal, which V8 inlines; closures of one literal share the
 * function's feedback whatever they capture, which is why the key is the source text and not the closure.
 *
 * The loop does nothing with the text but pick a cache entry: two different functions with the same text only
 * share a loop (and its feedback), which is never wrong, only slower. A patched `toString` is not consulted (the
 * engine's own, captured at load), and a callback whose text cannot be had takes the shared loop.
 */

import { functionSourceText, uncurried } from '../intrinsics.js';

/** The loop of one type's forEach: calls `callback` for each of `length` records from `base`. */
export type Loop = (dv: DataView, base: number, length: number, callback: (...args: unknown[]) => unknown) => void;

// The collections' own methods: a program that patches Map.prototype.get must not pick the loop forEach runs.
const weakGet = uncurried(WeakMap.prototype, 'get') as (map: WeakMap<object, Loop>, key: object) => Loop | undefined;
const weakSet = uncurried(WeakMap.prototype, 'set') as (map: WeakMap<object, Loop>, key: object, loop: Loop) => void;
const mapGet = uncurried(Map.prototype, 'get') as (map: Map<string, Entry>, key: string) => Entry | undefined;
const mapSet = uncurried(Map.prototype, 'set') as (map: Map<string, Entry>, key: string, entry: Entry) => void;

/**
 * The loop of one callback text, and the first closure it ran, kept alive until a second closure of that text has
 * run. Why: V8's call site remembers its callee weakly. Held by a closure alone, optimized code that inlined the
 * callback is thrown away when that closure dies (at the next GC: a program making a new closure per forEach call,
 * as `array.forEach((s) => sum += s.age)` does, loses it at every call and runs its next forEach in the
 * interpreter until it is optimized again). A second closure of the same function seen while the first is alive
 * turns the call site into one that names the function's feedback, which lives as long as the code that creates the
 * closures: the optimized loop then survives every GC. So the first closure (and what it captures) is held until the
 * third distinct closure of its text comes, at most one per text and LOOPS_PER_TYPE per type.
 */
interface Entry {
  readonly loop: Loop;
  first: object | undefined;
  others: number;
}

/** How many loops one type compiles at most; further callbacks share the type's general loop. */
export const LOOPS_PER_TYPE = 32;

/**
 * Numbers each loop compiled, in a comment in its source: V8 caches compiled code (and with it the type feedback)
 * by source text, so identical loop texts would share the feedback that this file exists to separate.
 */
let loopsCompiled = 0;

/** The loops of one element type, one per callback source text (at most LOOPS_PER_TYPE), then a shared one. */
export class CallbackLoops {
  readonly #byFunction = new WeakMap<object, Loop>();
  readonly #bySource = new Map<string, Entry>();
  #count = 0;
  readonly #names: string[];
  readonly #values: unknown[];
  readonly #body: string;
  readonly #shared: Loop;

  /**
   * `body` is the source of a function `loop(dv, base, length, callback)` that may use `bindings` by name; it is
   * compiled once here as the shared loop, and once more for each new callback text.
   */
  constructor(body: string, bindings: Record<string, unknown>) {
    this.#names = Object.keys(bindings);
    this.#values = Object.values(bindings);
    this.#body = body;
    this.#shared = this.#compile('shared');
  }

  /** The loop for `callback` (a function, checked by the caller). */
  loopFor(callback: object): Loop {
    const known = weakGet(this.#byFunction, callback);
    if (known !== undefined) return known;
    let text: string;
    try {
      text = functionSourceText(callback);
    } catch {
      return this.#shared;
    }
    let entry = mapGet(this.#bySource, text);
    if (entry === undefined) {
      if (this.#count >= LOOPS_PER_TYPE) return this.#shared;
      entry = { loop: this.#compile(`for one callback text`), first: callback, others: 0 };
      mapSet(this.#bySource, text, entry);
      this.#count++;
    } else if (entry.first !== undefined && ++entry.others > 1) {
      // A second closure has run while the first was alive: the call site now names the function (see Entry).
      entry.first = undefined;
    }
    const loop = entry.loop;
    weakSet(this.#byFunction, callback, loop);
    return loop;
  }

  /** How many loops were compiled for callbacks (not counting the shared one): for tests. */
  get size(): number {
    return this.#count;
  }

  #compile(what: string): Loop {
    const source = `'use strict';\n// forEach loop ${what} (loop ${++loopsCompiled})\n${this.#body}\nreturn loop;\n`;
    // The body is made by codegen.ts from numbers and fixed text; the callback's text is only a Map key.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generating code is this module's job
    const make = new Function(...this.#names, source) as (...values: unknown[]) => Loop;
    return make(...this.#values);
  }
}
