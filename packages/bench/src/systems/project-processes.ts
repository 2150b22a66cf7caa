import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, pollUntil, type Child, type ProcessGroup } from '@io-session/devtools';

export const PROJECT_KEY_PREFIX = 'bench';
/** The API key of the bench's nodes (the group-push run joins members over HTTP). */
export const API_KEY = 'bench-api-key-0123456789abcdef';

/** Where the io-session processes find Redis. */
export interface ProjectRedis {
  redisUrl: string;
  /** `host:port` seeds of a Redis Cluster: REDIS_CLUSTER instead of REDIS_URL. */
  redisCluster?: string[] | null;
}

/** The `io-session` CLI of the installed @io-session/server (its package.json `bin`), or IO_SESSION_CLI. */
export function projectCli(): string {
  if (process.env.IO_SESSION_CLI) return process.env.IO_SESSION_CLI;
  const manifest = fileURLToPath(import.meta.resolve('@io-session/server/package.json'));
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
  const cli = join(dirname(manifest), bin['io-session'] ?? 'dist/cli.js');
  if (!existsSync(cli)) throw new Error(`io-session CLI not found at ${cli}: run \`npm run build\` first`);
  return cli;
}

/** This process's environment with the Redis variables replaced by `redis`'s, and the bench's key prefix. */
function projectEnv(redis: ProjectRedis): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REDIS_URL;
  delete env.REDIS_CLUSTER;
  if (redis.redisCluster) env.REDIS_CLUSTER = redis.redisCluster.join(',');
  else env.REDIS_URL = redis.redisUrl;
  return { ...env, KEY_PREFIX: PROJECT_KEY_PREFIX };
}

export interface NodeProcesses {
  nodes: Child[];
  urls: string[];
}

/** Starts `count` `io-session node` processes and waits until each answers `/readyz`. */
export async function startNodes(
  group: ProcessGroup,
  redis: ProjectRedis,
  options: { count: number; cpuProfDir?: string | undefined },
): Promise<NodeProcesses> {
  const cli = projectCli();
  const execArgs: string[] = [];
  if (options.cpuProfDir) {
    mkdirSync(options.cpuProfDir, { recursive: true });
    execArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  }
  const out: NodeProcesses = { nodes: [], urls: [] };
  for (let i = 1; i <= options.count; i++) {
    const port = await freePort();
    const node = group.spawn(`io-session-node-${i}`, process.execPath, [...execArgs, cli, 'node'], {
      env: {
        ...projectEnv(redis),
        PORT: String(port),
        NODE_ID: `bench-node-${i}`,
        API_KEY,
        LOG_LEVEL: 'warn',
        SESSION_TIMEOUT_MS: '1000',
        DRAIN_MS: '0',
        // Benchmark clients acknowledge every push: the per-connection event limit is not what is measured.
        RATE_LIMIT_PER_SEC: '100000',
      },
    });
    out.nodes.push(node);
    out.urls.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(out.nodes.map((node, i) => untilReady(node, out.urls[i]!)));
  return out;
}

function untilReady(node: Child, url: string): Promise<unknown> {
  return pollUntil(
    async () => {
      if (node.proc.exitCode !== null) throw new Error(`io-session node exited:\n${node.output()}`);
      return fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    { timeoutMs: 30_000, intervalMs: 100, message: `${url}/readyz to answer 200` },
  );
}

/**
 * Starts `io-session worker` with its webhooks pointing at the bench's receiver; resolves once it consumes
 * both of its queues (its `io-session worker ready` lines).
 */
export async function startWorker(
  group: ProcessGroup,
  redis: ProjectRedis,
  webhooks: { receipts: string; events: string },
): Promise<Child> {
  const worker = group.spawn('io-session-worker', process.execPath, [projectCli(), 'worker'], {
    env: {
      ...projectEnv(redis),
      RECEIPT_WEBHOOK_URL: webhooks.receipts,
      EVENTS_WEBHOOK_URL: webhooks.events,
      // info: its lifecycle lines (one per queue it consumes) tell when it is ready; jobs log at debug.
      LOG_LEVEL: 'info',
    },
  });
  await pollUntil(
    () => {
      if (worker.proc.exitCode !== null) throw new Error(`io-session worker exited:\n${worker.output()}`);
      return (worker.output().match(/io-session worker ready/g) ?? []).length >= 2;
    },
    { timeoutMs: 30_000, intervalMs: 50, message: 'io-session worker to consume its two queues' },
  );
  return worker;
}
