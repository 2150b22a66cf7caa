import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pollUntil } from './ports.js';
import type { Child, ProcessGroup } from './processes.js';
import type { PrivateRedis } from './redis-server.js';

const portIsFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A free port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10000))) {
      taken.add(port).add(port + 10000);
      return port;
    }
  }
}

function admin(port: number, name = 'bench-info'): Redis {
  const client = new Redis(port, '127.0.0.1', {
    connectionName: name,
    lazyConnect: true,
    maxRetriesPerRequest: 3,
  });
  client.on('error', () => undefined);
  return client;
}

/** `host:port` seeds as ioredis Cluster startup nodes. */
export function parseSeeds(seeds: readonly string[]): { host: string; port: number }[] {
  return seeds.map((seed) => {
    const colon = seed.lastIndexOf(':');
    return { host: seed.slice(0, colon) || '127.0.0.1', port: Number(seed.slice(colon + 1)) };
  });
}

/**
 * A private, memory-only Redis Cluster of three primaries and three replicas on free ports
 * (`redis-server --cluster-enabled yes`, `redis-cli --cluster create`), owned by `group`.
 */
export async function startPrivateCluster(group: ProcessGroup): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 6; i++) ports.push(await clusterPort(taken));
  const children = ports.map((port) =>
    group.spawn(`redis-cluster-${port}`, 'redis-server', [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      ...['--maxmemory-policy', 'noeviction', '--dir', dir, '--cluster-enabled', 'yes'],
      ...['--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'],
    ]),
  );
  const admins = ports.map((port) => admin(port));
  const ping = (client: Redis, child: Child) => async () => {
    if (child.proc.exitCode !== null) throw new Error(`redis-server exited: ${child.output()}`);
    try {
      if (client.status === 'wait') await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    }
  };
  await Promise.all(
    admins.map((a, i) =>
      pollUntil(ping(a, children[i]!), { timeoutMs: 10_000, message: `redis ${ports[i]}` }),
    ),
  );
  const seeds = ports.map((port) => `127.0.0.1:${port}`);
  const cli = group.spawn('redis-cli', 'redis-cli', [
    ...['--cluster', 'create', ...seeds, '--cluster-replicas', '1', '--cluster-yes'],
  ]);
  if ((await cli.exited) !== 0) throw new Error(`redis-cli --cluster create failed:\n${cli.output()}`);
  await pollUntil(
    async () =>
      (await Promise.all(admins.map((a) => a.cluster('INFO')))).every((t) =>
        String(t).includes('cluster_state:ok'),
      ),
    { timeoutMs: 30_000, intervalMs: 100, message: 'the Redis Cluster to report cluster_state:ok' },
  );
  const roles = await Promise.all(
    admins.map(async (a) => /role:(\w+)/.exec(await a.info('replication'))?.[1]),
  );
  const primaries = ports.flatMap((port, i) => (roles[i] === 'master' ? [{ port, admin: admins[i]! }] : []));
  for (const [i, a] of admins.entries()) if (roles[i] !== 'master') a.disconnect();
  const version = /redis_version:(\S+)/.exec(await admins[0]!.info('server'))?.[1] ?? 'unknown';
  const first = primaries[0]!;
  return {
    port: first.port,
    url: `redis://127.0.0.1:${first.port}`,
    version,
    child: children[0]!,
    admin: first.admin,
    primaries,
    cluster: seeds,
    stop: async () => {
      for (const p of primaries) p.admin.disconnect();
      await Promise.all(children.map((c) => group.stop(c, 'SIGTERM', 3000)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
