import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const cli = fileURLToPath(new URL('../cli.js', import.meta.url));

export interface DevOptions {
  /** Socket.IO nodes to run. Default 2. */
  nodes: number;
  /** Start the worker beside the nodes. Default true. */
  worker: boolean;
}

function say(line: string): void {
  process.stdout.write(`[io-session dev] ${line}\n`);
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

async function answers(url: string): Promise<boolean> {
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

/** Starts a private, memory-only redis-server on a free port; resolves with its URL once it answers. */
export async function startPrivateRedis(children: ChildProcess[]): Promise<string> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(
      'nothing answers at REDIS_URL and redis-server is not on PATH: install Redis 7 or set REDIS_URL',
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'io-session-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  children.push(child);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await answers(url)) return url;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the private redis-server on port ${port} did not start`);
}

/** `io-session dev` (what `npm start` runs): a local cluster of nodes and a worker. */
export async function runDev(options: DevOptions): Promise<void> {
  const children: ChildProcess[] = [];
  const stopAll = (signal: NodeJS.Signals): void => {
    for (const child of children) if (child.exitCode === null) child.kill(signal);
  };
  process.on('SIGINT', () => stopAll('SIGTERM'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));

  let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!process.env.REDIS_CLUSTER && !(await answers(redisUrl))) {
    say(`nothing answers at ${redisUrl}; starting a private redis-server`);
    redisUrl = await startPrivateRedis(children);
    say(`private Redis (memory only) at ${redisUrl}`);
  }
  const apiKey = process.env.API_KEY ?? randomBytes(18).toString('base64url');
  const basePort = Number(process.env.PORT ?? 3000);
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    API_KEY: apiKey,
    DRAIN_MS: process.env.DRAIN_MS ?? '2000',
  };

  for (let i = 0; i < options.nodes; i++) {
    const port = basePort + i;
    const child = spawn(process.execPath, [cli, 'node'], {
      env: { ...env, PORT: String(port), NODE_ID: `dev-${i + 1}` },
      stdio: 'inherit',
    });
    children.push(child);
  }
  if (options.worker) {
    children.push(spawn(process.execPath, [cli, 'worker'], { env, stdio: 'inherit' }));
  }
  say(
    `nodes: ${Array.from({ length: options.nodes }, (_, i) => `http://localhost:${basePort + i}`).join(' ')}`,
  );
  say(`API key: ${apiKey}`);
  say(`dashboard: http://localhost:${basePort}/dashboard  (paste the API key)`);
  say(`try: curl -H 'Authorization: Bearer ${apiKey}' http://localhost:${basePort}/v1/sessions`);

  await new Promise<void>((resolve) => {
    let alive = children.length;
    for (const child of children) {
      child.on('exit', (code) => {
        alive -= 1;
        if (code && code !== 0) {
          say(`a process exited with ${code}; stopping the others`);
          stopAll('SIGTERM');
        }
        if (alive === 0) resolve();
      });
    }
  });
}
