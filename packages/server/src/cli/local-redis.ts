import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A redis-server (or a set of them) this process started; `stop()` ends them and removes their files. */
export interface LocalRedis {
  /** `redis://…` of a single server, or the first seed of a cluster. */
  url: string;
  /** `host:port` of every primary-to-be (cluster), or of the single server. */
  seeds: string[];
  processes: ChildProcess[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10000))) {
      taken.add(port);
      taken.add(port + 10000);
      return port;
    }
  }
}

export async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function requireRedisServer(): void {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(
      'redis-server is not on PATH: install Redis 7 (e.g. apt-get install redis-server) or set REDIS_URL',
    );
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

function stopper(processes: ChildProcess[], dir: string): () => Promise<void> {
  return async () => {
    await Promise.all(
      processes.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
}

/** Arguments of a redis-server on loopback that keeps nothing on disk (its working files go to `dir`). */
function memoryOnly(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
}

/** A private, memory-only redis-server on a free port. */
export async function startPrivateRedis(extraArgs: string[] = []): Promise<LocalRedis> {
  requireRedisServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'io-session-redis-'));
  const args = [...memoryOnly(port, dir), ...extraArgs];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(() => redisAnswers(url), `redis-server on port ${port}`);
  return { url, seeds: [`127.0.0.1:${port}`], processes: [child], stop: stopper([child], dir) };
}

/**
 * A real Redis Cluster on free ports: `primaries` masters with `replicasPerPrimary` replicas each, made with
 * `redis-cli --cluster create`. Memory only. Used by `io-session dev --redis-cluster` and the tests.
 */
export async function startLocalRedisCluster(
  options: { primaries?: number; replicasPerPrimary?: number } = {},
): Promise<LocalRedis> {
  requireRedisServer();
  const primaries = options.primaries ?? 3;
  const replicas = options.replicasPerPrimary ?? 1;
  const count = primaries * (1 + replicas);
  const dir = mkdtempSync(join(tmpdir(), 'io-session-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freeClusterPort(taken));
  const processes = ports.map((port) =>
    spawn(
      'redis-server',
      [
        ...memoryOnly(port, dir),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = stopper(processes, dir);
  try {
    await Promise.all(
      ports.map((port) => waitFor(() => redisAnswers(`redis://127.0.0.1:${port}`), `redis-server ${port}`)),
    );
    const seeds = ports.map((port) => `127.0.0.1:${port}`);
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...seeds, '--cluster-replicas', String(replicas), '--cluster-yes'],
      {
        encoding: 'utf8',
      },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await waitFor(
      async () => {
        const states = await Promise.all(
          ports.map(async (port) => {
            const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, lazyConnect: true });
            client.on('error', () => undefined);
            try {
              await client.connect();
              return String(await client.cluster('INFO')).includes('cluster_state:ok');
            } catch {
              return false;
            } finally {
              client.disconnect();
            }
          }),
        );
        return states.every(Boolean);
      },
      'the Redis Cluster',
      30_000,
    );
    return { url: `redis://${seeds[0]}`, seeds, processes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
