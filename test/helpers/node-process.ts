import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '@io-session/devtools';
import { exitOf, isRunning, killHard, OutputBuffer, trackChild } from './child.js';
import { withRedisCluster } from './redis-client.js';
import { waitUntil } from './wait.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_PATH = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url));
/** The API key every test node is started with (API_KEY must be at least 16 characters). */
export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

export interface NodeOptions {
  redisUrl: string;
  prefix: string;
  /** More (or overriding) environment variables. */
  env?: Record<string, string>;
  /** Port to listen on; a free one by default. */
  port?: number;
  /** NODE_ID; `node-<port>` by default. */
  nodeId?: string;
  /** How long to wait for `/readyz` to answer 200. Default 20000 ms. */
  readyTimeoutMs?: number;
}

export interface NodeProcess {
  readonly url: string;
  readonly port: number;
  readonly nodeId: string;
  readonly proc: ChildProcess;
  /** Resolves with the exit code (null if a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/**
 * Environment of a test node, before `env` overrides. (`spawnCli` adds REDIS_CLUSTER when `redisUrl` is the
 * shared Redis and that is a cluster: `TEST_REDIS=cluster`.)
 */
export function nodeEnv(options: NodeOptions, port: number, nodeId: string): Record<string, string> {
  return {
    REDIS_URL: options.redisUrl,
    PORT: String(port),
    NODE_ID: nodeId,
    KEY_PREFIX: options.prefix,
    API_KEY: TEST_API_KEY,
    LOG_LEVEL: 'warn',
    SESSION_TIMEOUT_MS: '2000',
    DRAIN_MS: '100',
    // Tests read session events back from the queue: keep completed jobs (production default: 0).
    QUEUE_KEEP_COMPLETED: '100000',
    ...options.env,
  };
}

/**
 * Runs `node packages/server/dist/cli.js <args>` with exactly `env` (plus PATH), and collects its output. With
 * `TEST_REDIS=cluster`, a REDIS_URL that is the shared Redis comes with the cluster's REDIS_CLUSTER.
 */
export function spawnCli(
  args: string[],
  env: Record<string, string>,
): { proc: ChildProcess; output: OutputBuffer } {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run 'npm run build' first`);
  const output = new OutputBuffer();
  const proc = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...withRedisCluster(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (c: Buffer) => output.append(c));
  proc.stderr?.on('data', (c: Buffer) => output.append(c));
  return { proc, output };
}

/** Runs a CLI command to its end and resolves with its exit code and output. */
export async function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { proc } = spawnCli(args, env);
  const forget = trackChild(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const code = await exitOf(proc);
  clearTimeout(timer);
  forget();
  return { code, stdout, stderr };
}

/** Starts an io-session node process; resolves once `GET /readyz` answers 200. Killed after the test file. */
export async function startNode(options: NodeOptions): Promise<NodeProcess> {
  const port = options.port ?? (await freePort());
  const nodeId = options.nodeId ?? `node-${port}`;
  const { proc, output } = spawnCli(['node'], nodeEnv(options, port, nodeId));
  const forget = trackChild(proc);
  const exited = exitOf(proc);
  const url = `http://127.0.0.1:${port}`;
  const node: NodeProcess = {
    url,
    port,
    nodeId,
    proc,
    exited,
    output: () => output.toString(),
    stop: async (signal = 'SIGTERM') => {
      if (isRunning(proc)) proc.kill(signal);
      const code = await exited;
      forget();
      return code;
    },
    kill: async () => {
      await killHard(proc);
      forget();
    },
  };
  try {
    const died = exited.then((code) => {
      throw new Error(`node ${nodeId} exited with ${code ?? proc.signalCode} before it was ready`);
    });
    await Promise.race([
      died,
      waitUntil(
        async () => {
          if (!isRunning(proc)) return false;
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
          return res.status === 200;
        },
        {
          timeout: options.readyTimeoutMs ?? 20_000,
          interval: 50,
          message: `node ${nodeId} /readyz answers 200`,
        },
      ),
    ]);
    died.catch(() => undefined);
  } catch (err) {
    await node.kill();
    throw new Error(`${(err as Error).message}\n--- output of ${nodeId} ---\n${output.toString()}`, {
      cause: err,
    });
  }
  return node;
}

/** Starts `count` nodes on one Redis and prefix, in parallel. */
export async function startNodes(count: number, options: NodeOptions): Promise<NodeProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startNode(options)));
}
