import { defineConfig } from 'vitest/config';

/*
 * Tests that measure timing at a provider (the rolling-second rate limit) run in a group of
 * their own, after every other file has finished: on two cores, a busy neighbour's CPU use is
 * jitter that no client-side pacing can absorb.
 */
const ALONE = ['apps/dispatcher/test/rate-limit.test.ts'];

/*
 * The dispatcher's tests run a second time on a Redis Cluster of their own (test/support/
 * cluster-setup.ts), as the stores and the queues must work on both.
 */
const ON_CLUSTER = ['apps/dispatcher/test/**/*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: end-to-end files start several processes each.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['apps/*/test/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ALONE,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'cluster', include: ON_CLUSTER, exclude: ALONE, globalSetup: ['test/support/cluster-setup.ts'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'timing', include: ALONE, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
