import { defineConfig } from 'vitest/config';

/**
 * Five projects, split by what their tests need (STYLE.md practice 8):
 * - unit:          pure code, no Redis;
 * - integration:   one Redis (the shared one on 127.0.0.1:6379 with a unique key prefix per test, or a private
 *                  redis-server the test starts), in-process Socket.IO servers;
 * - cluster:       several `io-session node` processes (and private redis-servers);
 * - browser:       headless Chromium against a node;
 * - redis-cluster: the session, push and receipt suites again, with the shared Redis replaced by one local
 *                  Redis Cluster (3 primaries + 3 replicas) for the run: `TEST_REDIS=cluster` makes the helpers
 *                  connect to it (test/helpers/redis-client.ts). Files that need a private single redis-server
 *                  (stopping it, CONFIG renamed, memory figures) are not in it.
 * Every file cleans up what it started (test/helpers/setup-cleanup.ts). Cluster and redis-cluster files run two at a
 * time after the unit and integration files: they start several processes each, but mostly wait (graces, TTLs,
 * outages); the browser files run last, one at a time.
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
          // with the redis-cluster project: two files at a time (most of a cluster file's time is waiting for
          // graces, TTLs and outages, not CPU)
          maxWorkers: 2,
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
      {
        extends: true,
        test: {
          name: 'redis-cluster',
          // The session, push and receipt suites that run unchanged on a Redis Cluster (TEST_REDIS=cluster makes
          // SHARED_REDIS_URL mean the cluster). Not here: files that own a private single redis-server (they stop
          // or restart it, rename CONFIG, measure its memory or pub/sub: redis-restart, lb-sigkill,
          // rolling-deploy, ten-thousand-sessions, fanout, redis-server-helper) or their own cluster
          // (redis-cluster-failover, worker-redis-cluster); load and benchmark runs (soak, bench-quick);
          // delivery-reconnect (45 s: over this project's time budget).
          // three-nodes' "CONFIG renamed" variant and delivery-bad-input's "Redis down" test keep their private
          // redis-server here too.
          include: [
            'test/integration/session-handler.test.ts',
            'test/integration/store-lifecycle.test.ts',
            'test/integration/client-sdk.test.ts',
            'test/integration/delivery-acks.test.ts',
            'test/integration/delivery-order.test.ts',
            'test/integration/worker-push-queue.test.ts',
            'test/integration/worker-command.test.ts',
            'test/integration/worker-library.test.ts',
            'test/integration/handler-close.test.ts',
            'test/integration/store-groups.test.ts',
            'test/integration/groups.test.ts',
            'test/cluster/three-nodes.test.ts',
            'test/cluster/node-crash.test.ts',
            'test/cluster/node-lifecycle.test.ts',
            'test/cluster/auth-jwt.test.ts',
            'test/cluster/bad-input.test.ts',
            'test/cluster/delivery-two-nodes.test.ts',
            'test/cluster/delivery-order.test.ts',
            'test/cluster/delivery-node-crash.test.ts',
            'test/cluster/delivery-bad-input.test.ts',
            'test/cluster/groups-http.test.ts',
          ],
          env: { TEST_REDIS: 'cluster' },
          // starts one local Redis Cluster (3 primaries + 3 replicas) for the run; TEST_REDIS_CLUSTER=host:port,…
          // uses a running one instead
          globalSetup: ['test/helpers/global-redis-cluster.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // beside the cluster files (group 1, two files at a time)
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
