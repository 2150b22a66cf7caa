import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type * as Devtools from '@io-session/devtools';
import { startSummary } from './dev-summary.js';
import { loadOptional } from './optional-package.js';

const cli = fileURLToPath(new URL('../cli.js', import.meta.url));

export interface DevOptions {
  /** Socket.IO nodes to run. Default 2. */
  nodes: number;
  /** Start the worker beside the nodes. Default true. */
  worker: boolean;
  /** Start a local Redis Cluster (3 primaries, 3 replicas) and run on it. Default false. */
  redisCluster: boolean;
}

type Tools = typeof Devtools;

/** How long the nodes have to drain and exit after Ctrl-C before they are killed. */
const STOP_GRACE_MS = 15_000;

function say(line: string): void {
  process.stdout.write(`[io-session dev] ${line}\n`);
}

// The private Redis and the readable logs come from the development tools, which production does not install.
function loadDevtools(): Promise<Tools> {
  return loadOptional(() => import('@io-session/devtools'), {
    name: '@io-session/devtools',
    message:
      'io-session dev: the development tools (@io-session/devtools) are not installed; run it from a checkout ' +
      'of the repository after `npm ci` (`npm start`)',
  });
}

/** Where Redis is for the dev cluster: REDIS_URL / REDIS_CLUSTER if they answer, else a private one. */
async function devRedis(
  tools: Tools,
  options: DevOptions,
  env: NodeJS.ProcessEnv,
): Promise<{ stop(): Promise<void> } | undefined> {
  if (options.redisCluster) {
    say('starting a local Redis Cluster (3 primaries, 3 replicas, memory only)');
    const cluster = await tools.startRedisCluster({ group: new tools.ProcessGroup({ detached: true }) });
    env.REDIS_CLUSTER = cluster.seeds.join(',');
    say(`Redis Cluster at ${env.REDIS_CLUSTER}`);
    return cluster;
  }
  if (env.REDIS_CLUSTER) return undefined;
  const url = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  env.REDIS_URL = url;
  if (await tools.redisAnswers(url)) return undefined;
  say(`nothing answers at ${url}; starting a private redis-server`);
  const redis = await tools.startRedisServer({ group: new tools.ProcessGroup({ detached: true }) });
  env.REDIS_URL = redis.url;
  say(`private Redis (memory only) at ${redis.url}`);
  return redis;
}

/** Starts `io-session <command>` with its JSON logs turned into labelled, readable lines. */
function startChild(
  tools: Tools,
  group: Devtools.ProcessGroup,
  name: string,
  run: { args: string[]; env: NodeJS.ProcessEnv; label: string },
): Devtools.Child {
  const child = group.spawn(name, process.execPath, [cli, ...run.args], { env: run.env });
  child.proc.stdout?.pipe(tools.prettyLogs(run.label));
  child.proc.stderr?.pipe(tools.prettyLogs(run.label));
  return child;
}

/** Resolves when every child has exited; the first one that fails stops the others. */
function allExited(children: Devtools.Child[], stopAll: () => void): Promise<unknown> {
  return Promise.all(
    children.map(async (child) => {
      const code = await child.exited;
      if (code) {
        say(`${child.name} exited with ${code}; stopping the others`);
        stopAll();
      }
    }),
  );
}

/** `io-session dev` (what `npm start` runs): a local cluster of nodes and a worker, with readable logs. */
export async function runDev(options: DevOptions): Promise<void> {
  const tools = await loadDevtools();
  // Detached: a terminal's Ctrl-C reaches only this process, which passes one SIGTERM on (a second signal
  // makes them exit at once), and stops the private Redis after them; they still go when this process goes.
  const group = new tools.ProcessGroup({ detached: true });
  const stopAll = (): void => void group.stopAll(STOP_GRACE_MS);
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);

  const env: NodeJS.ProcessEnv = { ...process.env, DRAIN_MS: process.env.DRAIN_MS ?? '2000' };
  const redis = await devRedis(tools, options, env);
  const apiKey = env.API_KEY ?? randomBytes(18).toString('base64url');
  env.API_KEY = apiKey;
  const basePort = Number(env.PORT ?? 3000);

  const names = [...Array.from({ length: options.nodes }, (_, i) => `dev-${i + 1}`), 'worker'];
  const width = Math.max(...names.map((n) => n.length), 'cluster'.length);
  const label = (name: string): string => `${name.padEnd(width)} │`;
  const children = names.slice(0, options.nodes).map((name, i) => {
    const nodeEnv = { ...env, PORT: String(basePort + i), NODE_ID: name };
    return startChild(tools, group, name, { args: ['node'], env: nodeEnv, label: label(name) });
  });
  if (options.worker)
    children.push(startChild(tools, group, 'worker', { args: ['worker'], env, label: label('worker') }));

  const urls = Array.from({ length: options.nodes }, (_, i) => `http://localhost:${basePort + i}`);
  say(`nodes: ${urls.join(' ')}`);
  say(`API key: ${apiKey}`);
  say(`dashboard: ${urls[0] ?? ''}/dashboard  (paste the API key)`);
  say(`try: curl -H 'Authorization: Bearer ${apiKey}' ${urls[0] ?? ''}/v1/sessions`);
  say(`'${label('cluster')}' lines: pushes and receipts per second across the cluster, when they change`);
  const stopSummary = startSummary({
    url: urls[0] ?? `http://localhost:${basePort}`,
    apiKey,
    print: (line) => process.stdout.write(`${label('cluster')} ${line}\n`),
  });

  await allExited(children, stopAll);
  stopSummary();
  await redis?.stop();
}
