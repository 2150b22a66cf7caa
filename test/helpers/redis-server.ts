import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { exitOf, isRunning, killHard, OutputBuffer, trackChild } from './child.js';
import { freePort } from './ports.js';
import { waitUntil } from './wait.js';

export interface RedisServerOptions {
  /** Start with `--rename-command CONFIG ""`, as managed Redis services do. */
  renameConfig?: boolean;
  /** More `redis-server` arguments. */
  extraArgs?: string[];
  /** Port to use; a free one by default. */
  port?: number;
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Output of the current process. */
  output(): string;
  /** SHUTDOWN NOSAVE (SIGTERM if that does not work) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Start again on the same port (after stop or kill); resolves when PING answers. */
  restart(): Promise<void>;
}

/** Sends one inline command over a fresh TCP connection and resolves with the first reply line. */
export function rawCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to ${command} from 127.0.0.1:${port}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        socket.destroy();
        resolve(reply.slice(0, end));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!reply.includes('\r\n'))
        reject(new Error(`connection to 127.0.0.1:${port} closed without a reply`));
    });
  });
}

export async function ping(port: number): Promise<boolean> {
  try {
    return (await rawCommand(port, 'PING', 500)) === '+PONG';
  } catch {
    return false;
  }
}

/** Starts a private `redis-server` on a free port; it is killed after the test file whatever happens. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--dir', tmpdir(), '--daemonize', 'no', '--loglevel', 'warning');
  if (options.renameConfig) args.push('--rename-command', 'CONFIG', '');
  args.push(...(options.extraArgs ?? []));

  let child: ChildProcess | undefined;
  let forget: () => void = () => undefined;
  let output = new OutputBuffer();

  const launch = async (): Promise<void> => {
    output = new OutputBuffer();
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (c: Buffer) => output.append(c));
    proc.stderr?.on('data', (c: Buffer) => output.append(c));
    const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
    child = proc;
    forget = trackChild(proc);
    await Promise.race([
      spawnError,
      waitUntil(
        async () => {
          if (!isRunning(proc)) throw new Error(`redis-server exited: ${output.toString()}`);
          return ping(port);
        },
        { timeout: 10_000, interval: 20, message: `redis-server on port ${port} answers PING` },
      ),
    ]);
  };

  const stopCurrent = async (hard: boolean): Promise<void> => {
    const proc = child;
    if (!proc || !isRunning(proc)) return;
    if (hard) {
      await killHard(proc);
    } else {
      const exited = exitOf(proc);
      await rawCommand(port, 'SHUTDOWN NOSAVE').catch(() => proc.kill('SIGTERM'));
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    forget();
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    output: () => output.toString(),
    stop: () => stopCurrent(false),
    kill: () => stopCurrent(true),
    restart: async () => {
      await stopCurrent(true);
      await launch();
    },
  };
}
