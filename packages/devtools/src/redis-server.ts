import { tmpdir } from 'node:os';
import { devtoolsDefaults } from './defaults.js';
import { pollUntil } from './poll.js';
import { ping, rawCommand } from './redis-probe.js';
import { isRunning, ProcessGroup, type Child } from './processes.js';
import { freePort } from './ports.js';

export interface RedisServerOptions {
  /** Port to listen on (127.0.0.1); a free one by default. */
  port?: number;
  /** Start with `--rename-command CONFIG ""`, as managed Redis services do. Default false. */
  renameConfig?: boolean;
  /** More `redis-server` arguments, e.g. `['--maxmemory-policy', 'noeviction']`. */
  extraArgs?: string[];
  /** `--loglevel`. Default `devtoolsDefaults.redisLogLevel` ('warning'). */
  loglevel?: 'debug' | 'verbose' | 'notice' | 'warning';
  /** `--dir`: nothing is saved, only a cluster node writes its nodes.conf there. Default the OS temp dir. */
  dir?: string;
  /** The group that owns the process (stopped with it, killed when this process exits). Default a new one. */
  group?: ProcessGroup;
}

/** A memory-only redis-server this process started. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The running process (the newest one after `restart`). */
  readonly child: Child;
  /** What the current process wrote to stdout and stderr. */
  output(): string;
  /** SHUTDOWN NOSAVE (SIGTERM if that is refused, SIGKILL after a grace period) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Start again on the same port (after stop or kill, or killing it first); resolves when PING answers. */
  restart(): Promise<void>;
}

/** Arguments of a redis-server on 127.0.0.1:`port` that keeps nothing on disk. */
function serverArgs(port: number, options: RedisServerOptions): string[] {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--dir', options.dir ?? tmpdir(), '--daemonize', 'no');
  args.push('--loglevel', options.loglevel ?? devtoolsDefaults.redisLogLevel);
  if (options.renameConfig) args.push('--rename-command', 'CONFIG', '');
  return [...args, ...(options.extraArgs ?? [])];
}

async function launch(group: ProcessGroup, port: number, args: string[]): Promise<Child> {
  let child: Child;
  try {
    child = group.spawn(`redis-server-${port}`, 'redis-server', args);
  } catch {
    throw new Error('redis-server is not on PATH: install Redis 7 (e.g. apt-get install redis-server)');
  }
  try {
    await pollUntil(
      async () => {
        if (!isRunning(child.proc)) throw new Error(`redis-server exited: ${child.output()}`);
        return ping(port);
      },
      {
        timeoutMs: devtoolsDefaults.redisReadyTimeoutMs,
        message: `redis-server on port ${port} answers PING`,
      },
    );
  } catch (err) {
    await group.stop(child, 'SIGKILL');
    throw err;
  }
  return child;
}

async function shutdown(group: ProcessGroup, child: Child, port: number): Promise<void> {
  if (!isRunning(child.proc)) return;
  // The server closes the connection as it goes; a SIGTERM after that is harmless, and stops one that refused.
  await rawCommand(port, 'SHUTDOWN NOSAVE').catch(() => undefined);
  await group.stop(child, 'SIGTERM', devtoolsDefaults.redisStopGraceMs);
}

/**
 * Starts a private, memory-only redis-server (no RDB, no AOF) on 127.0.0.1 and a free port; resolves when it
 * answers PING. Throws with its output when it exits or does not answer in time.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const group = options.group ?? new ProcessGroup();
  const port = options.port ?? (await freePort());
  const args = serverArgs(port, options);
  let child = await launch(group, port, args);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get child() {
      return child;
    },
    output: () => child.output(),
    stop: () => shutdown(group, child, port),
    kill: () => group.stop(child, 'SIGKILL'),
    restart: async () => {
      await group.stop(child, 'SIGKILL');
      child = await launch(group, port, args);
    },
  };
}
