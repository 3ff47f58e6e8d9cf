/**
 * The slices of the benchmark peers' APIs that bench/ uses, for type-checking and linting where the peers are not
 * installed (a fresh clone: `npm run bench` installs them into bench/node_modules). TypeScript takes an ambient
 * module declaration only when it cannot resolve the package itself, so once the peers are installed their own types
 * are the ones checked (`npm run typecheck:bench`).
 */

declare module 'lmdb' {
  interface OpenOptions {
    path: string;
    keyEncoding?: 'uint32' | 'ordered-binary' | 'binary';
  }
  interface Database<V, K> {
    putSync(key: K, value: V): void;
    get(key: K): V | undefined;
    transactionSync<T>(action: () => T): T;
    close(): Promise<void>;
  }
  export function open<V, K>(options: OpenOptions): Database<V, K>;
}

declare module 'better-sqlite3' {
  interface Statement<P extends unknown[], R> {
    run(...params: P): unknown;
    get(...params: P): R | undefined;
    raw(): RawStatement<P>;
  }
  interface RawStatement<P extends unknown[]> {
    all(...params: P): unknown[][];
  }
  class Database {
    constructor(path: string);
    exec(sql: string): this;
    pragma(source: string): unknown;
    prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R>;
    transaction<F extends (...args: never[]) => unknown>(action: F): F;
    close(): this;
  }
  export default Database;
}
