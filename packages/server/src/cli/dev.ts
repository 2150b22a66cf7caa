import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { redisAnswers, startLocalRedisCluster, startPrivateRedis, type LocalRedis } from './local-redis.js';

const cli = fileURLToPath(new URL('../cli.js', import.meta.url));

export interface DevOptions {
  /** Socket.IO nodes to run. Default 2. */
  nodes: number;
  /** Start the worker beside the nodes. Default true. */
  worker: boolean;
  /** Start a local Redis Cluster (3 primaries, 3 replicas) and run on it. Default false. */
  redisCluster: boolean;
}

function say(line: string): void {
  process.stdout.write(`[io-session dev] ${line}\n`);
}

/** Where Redis is for the dev cluster: REDIS_URL / REDIS_CLUSTER if they answer, else a private one. */
async function devRedis(options: DevOptions, env: NodeJS.ProcessEnv): Promise<LocalRedis | undefined> {
  if (options.redisCluster) {
    say('starting a local Redis Cluster (3 primaries, 3 replicas, memory only)');
    const cluster = await startLocalRedisCluster();
    env.REDIS_CLUSTER = cluster.seeds.join(',');
    say(`Redis Cluster at ${env.REDIS_CLUSTER}`);
    return cluster;
  }
  if (env.REDIS_CLUSTER) return undefined;
  const url = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  env.REDIS_URL = url;
  if (await redisAnswers(url)) return undefined;
  say(`nothing answers at ${url}; starting a private redis-server`);
  const redis = await startPrivateRedis();
  env.REDIS_URL = redis.url;
  say(`private Redis (memory only) at ${redis.url}`);
  return redis;
}

/** `io-session dev` (what `npm start` runs): a local cluster of nodes and a worker. */
export async function runDev(options: DevOptions): Promise<void> {
  const children: ChildProcess[] = [];
  const stopAll = (): void => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);

  const env: NodeJS.ProcessEnv = { ...process.env, DRAIN_MS: process.env.DRAIN_MS ?? '2000' };
  const redis = await devRedis(options, env);
  const apiKey = env.API_KEY ?? randomBytes(18).toString('base64url');
  env.API_KEY = apiKey;
  const basePort = Number(env.PORT ?? 3000);

  for (let i = 0; i < options.nodes; i++) {
    const nodeEnv = { ...env, PORT: String(basePort + i), NODE_ID: `dev-${i + 1}` };
    children.push(spawn(process.execPath, [cli, 'node'], { env: nodeEnv, stdio: 'inherit', detached: true }));
  }
  if (options.worker) {
    children.push(spawn(process.execPath, [cli, 'worker'], { env, stdio: 'inherit', detached: true }));
  }
  // Children have their own process group (a terminal's Ctrl-C reaches only this process, which passes one
  // SIGTERM on: a second signal would make them exit at once); they still go when this process goes.
  process.on('exit', () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  const urls = Array.from({ length: options.nodes }, (_, i) => `http://localhost:${basePort + i}`);
  say(`nodes: ${urls.join(' ')}`);
  say(`API key: ${apiKey}`);
  say(`dashboard: ${urls[0] ?? ''}/dashboard  (paste the API key)`);
  say(`try: curl -H 'Authorization: Bearer ${apiKey}' ${urls[0] ?? ''}/v1/sessions`);

  await new Promise<void>((resolve) => {
    let alive = children.length;
    for (const child of children) {
      child.on('exit', (code) => {
        alive -= 1;
        if (code && code !== 0) {
          say(`a process exited with ${code}; stopping the others`);
          stopAll();
        }
        if (alive === 0) resolve();
      });
    }
  });
  await redis?.stop();
}
