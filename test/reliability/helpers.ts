/**
 * The reliability tests' fixtures. Their child processes are started through test/helpers/child.ts, the one launcher
 * every test shares; the names are re-exported here for the tests that import them from this file.
 */
export { report, startChild, startNode, type LiveChild } from '../helpers/child.js';

/** Path of a fixture in test/reliability/fixtures. */
export function reliabilityFixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}
