import { defineConfig } from 'vitest/config';

/** Chaos scenarios: the real processes under faults. `CHAOS_QUICK=1` for the CI-sized variant. */
export default defineConfig({
  test: {
    include: ['chaos/**/*.chaos.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    // Each scenario starts several processes on a 2-core machine: one file at a time.
    maxWorkers: 1,
    fileParallelism: false,
  },
});
