import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Refuses any reservation of real disk over a few tens of MiB in the test processes, so a wrong expectation
    // fails one test instead of filling the disk (test/helpers/reservation-guard.mjs; children get it from
    // test/helpers/child.ts).
    setupFiles: ['./test/helpers/reservation-guard.mjs'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
