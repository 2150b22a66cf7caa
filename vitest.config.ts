import { defineConfig } from 'vitest/config';

/**
 * Four projects, split by what their tests need (STYLE.md practice 8):
 * - unit:        pure code, no Redis;
 * - integration: one Redis (the shared one on 127.0.0.1:6379 with a unique key prefix per test, or a private
 *                redis-server the test starts), in-process Socket.IO servers;
 * - cluster:     several `io-session node` processes (and private redis-servers);
 * - browser:     headless Chromium against a node.
 * Every file cleans up what it started (test/helpers/setup-cleanup.ts). Cluster files run one at a time:
 * they start several processes each and measure timings, which two cores cannot do twice at once.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    // two cores: unit and integration files share them (group 0), then cluster files run one by one (group 1)
    maxWorkers: 2,
    setupFiles: ['test/helpers/setup-cleanup.ts'],
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]]
      : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 5_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: 1,
          // projects of one group must agree on maxWorkers: the browser files run last, one by one
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
