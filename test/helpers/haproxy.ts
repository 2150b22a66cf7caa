import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@io-session/devtools';
import { io, type Socket } from 'socket.io-client';
import { exitOf, isRunning, killHard, OutputBuffer, trackChild } from './child.js';
import { deferCleanup } from './cleanup.js';
import { waitUntil, withTimeout } from './wait.js';

/** The load balancer configuration that docker-compose.yml mounts: the tests run this same file. */
export const HAPROXY_CFG_PATH = fileURLToPath(new URL('../../deploy/haproxy/haproxy.cfg', import.meta.url));

/** True when an `haproxy` binary is on PATH (Debian's package; .ci/run installs it). */
export function haproxyInstalled(): boolean {
  const probe = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  return probe.status === 0;
}

/**
 * Whether the load-balancer tests run: they skip without haproxy on a developer's machine, and in CI (`CI` set)
 * they run, and fail with an install hint when it is missing.
 */
export function haproxyRequired(): boolean {
  return Boolean(process.env.CI) || haproxyInstalled();
}

/** `haproxy -c -f <file>`: whether HAProxy accepts a configuration, and what it said. */
export function haproxyCheck(path: string): { ok: boolean; output: string } {
  const res = spawnSync('haproxy', ['-c', '-f', path], { encoding: 'utf8' });
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

export interface HaproxyServer {
  /** Server name (also its sticky cookie value), e.g. `node1`. */
  name: string;
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface HaproxyTestConfigOptions {
  frontendPort: number;
  statsPort: number;
  servers: HaproxyServer[];
  /** Health check interval. Default 200 ms. */
  interMs?: number;
  /** Failed checks before a server is DOWN. Default 1. */
  fall?: number;
  /** Passed checks before a server is UP again. Default 1. */
  rise?: number;
}

const SECTION =
  /^(global|defaults|frontend|backend|listen|resolvers|peers|userlist|mailers|program|ring|cache|http-errors)\b/;

/**
 * Turns the deployment's haproxy.cfg into one for a test on loopback, changing as little as possible: the
 * `bind` addresses (the stats frontend gets `statsPort`, the other one `frontendPort`), the check timings of
 * `default-server`, the `server` lines (one per test node, cookie = name), and no Docker DNS resolver.
 * Everything else (health check path, balancing, stickiness, timeouts, retries) is the deployed configuration.
 */
export function haproxyTestConfig(template: string, options: HaproxyTestConfigOptions): string {
  const check = `inter ${options.interMs ?? 200}ms fall ${options.fall ?? 1} rise ${options.rise ?? 1}`;
  const out: string[] = [];
  let section = '';
  let serversWritten = false;
  let frontends = 0;
  for (const raw of template.split('\n')) {
    const header = SECTION.exec(raw);
    if (header) section = raw.trim();
    if (section.startsWith('resolvers')) continue;
    const line = raw.replace(/\s+resolvers\s+\S+/, '').replace(/\s+init-addr\s+\S+/, '');
    const trimmed = line.trim();
    if (trimmed.startsWith('bind ')) {
      const isStats = /^frontend\s+stats\b/.test(section);
      if (!isStats) frontends += 1;
      const port = isStats ? options.statsPort : options.frontendPort;
      out.push(line.replace(/bind\s+\S+/, `bind 127.0.0.1:${port}`));
    } else if (trimmed.startsWith('default-server ')) {
      out.push(
        line
          .replace(/\s+inter\s+\S+/, '')
          .replace(/\s+fall\s+\d+/, '')
          .replace(/\s+rise\s+\d+/, '')
          .replace(/default-server/, `default-server ${check}`),
      );
    } else if (trimmed.startsWith('server ')) {
      if (serversWritten) continue;
      serversWritten = true;
      const indent = /^\s*/.exec(line)?.[0] ?? '    ';
      for (const s of options.servers)
        out.push(`${indent}server ${s.name} ${s.host ?? '127.0.0.1'}:${s.port} cookie ${s.name}`);
    } else {
      out.push(line);
    }
  }
  if (!serversWritten) throw new Error('the haproxy.cfg template has no server lines');
  if (frontends !== 1) throw new Error(`expected one client frontend in haproxy.cfg, found ${frontends}`);
  return out.join('\n');
}

/** One row of HAProxy's stats CSV. */
export interface HaproxyServerStats {
  name: string;
  /** `UP`, `DOWN`, `UP 1/2`, `MAINT`, … */
  status: string;
  /** Current sessions (connections) through this server. */
  current: number;
  /** Sessions since start. */
  total: number;
}

export interface Haproxy {
  /** The client-facing frontend, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly statsUrl: string;
  readonly configPath: string;
  /** The backend's servers as HAProxy sees them now. */
  servers(): Promise<HaproxyServerStats[]>;
  /** Resolves when HAProxy reports `name` with a status starting with `status` (`UP` or `DOWN`). */
  waitFor(name: string, status: 'UP' | 'DOWN', timeout?: number): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

export interface StartHaproxyOptions {
  servers: HaproxyServer[];
  interMs?: number;
  fall?: number;
  rise?: number;
  /** Default: deploy/haproxy/haproxy.cfg. */
  template?: string;
}

/** Starts HAProxy (foreground, on free loopback ports) with the deployed configuration; killed after the file. */
export async function startHaproxy(options: StartHaproxyOptions): Promise<Haproxy> {
  const [frontendPort, statsPort] = [await freePort(), await freePort()];
  const template = options.template ?? readFileSync(HAPROXY_CFG_PATH, 'utf8');
  const dir = mkdtempSync(join(tmpdir(), 'ios-haproxy-'));
  deferCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'haproxy.cfg');
  writeFileSync(
    configPath,
    haproxyTestConfig(template, {
      frontendPort,
      statsPort,
      servers: options.servers,
      ...(options.interMs !== undefined ? { interMs: options.interMs } : {}),
      ...(options.fall !== undefined ? { fall: options.fall } : {}),
      ...(options.rise !== undefined ? { rise: options.rise } : {}),
    }),
  );

  const output = new OutputBuffer(100_000);
  const proc = spawn('haproxy', ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (c: Buffer) => output.append(c));
  proc.stderr?.on('data', (c: Buffer) => output.append(c));
  const spawnError = new Promise<never>((_, reject) =>
    proc.once('error', (err) =>
      reject(new Error(`cannot run haproxy (${err.message}): apt-get install haproxy (.ci/run does)`)),
    ),
  );
  spawnError.catch(() => undefined);
  const forget = trackChild(proc);
  const statsUrl = `http://127.0.0.1:${statsPort}/stats`;

  const servers = async (): Promise<HaproxyServerStats[]> => {
    const res = await fetch(`${statsUrl};csv`, { signal: AbortSignal.timeout(2000) });
    const [head, ...rows] = (await res.text()).trim().split('\n');
    const columns = (head ?? '').replace(/^#\s*/, '').split(',');
    const col = (name: string): number => columns.indexOf(name);
    return rows
      .map((row) => row.split(','))
      .filter(
        (cells) =>
          cells[col('pxname')] !== 'stats' && !/^(FRONTEND|BACKEND)$/.test(cells[col('svname')] ?? ''),
      )
      .map((cells) => ({
        name: cells[col('svname')] ?? '',
        status: cells[col('status')] ?? '',
        current: Number(cells[col('scur')] ?? 0),
        total: Number(cells[col('stot')] ?? 0),
      }));
  };

  const died = exitOf(proc).then((code) => {
    throw new Error(`haproxy exited with ${code ?? proc.signalCode}:\n${output.toString()}`);
  });
  died.catch(() => undefined);
  await Promise.race([
    spawnError,
    died,
    waitUntil(async () => isRunning(proc) && (await servers()).length > 0, {
      timeout: 10_000,
      interval: 50,
      message: 'haproxy answers on its stats port',
    }),
  ]);

  return {
    url: `http://127.0.0.1:${frontendPort}`,
    statsUrl,
    configPath,
    servers,
    waitFor: async (name, status, timeout = 10_000) => {
      await waitUntil(
        async () => (await servers()).find((s) => s.name === name)?.status.startsWith(status) ?? false,
        { timeout, interval: 25, message: `haproxy sees ${name} ${status}` },
      );
    },
    output: () => output.toString(),
    stop: async () => {
      if (isRunning(proc)) {
        const exited = exitOf(proc);
        proc.kill('SIGTERM');
        const timer = setTimeout(() => void killHard(proc), 5000);
        await exited;
        clearTimeout(timer);
      }
      forget();
    },
  };
}

// ---- clients behind the load balancer --------------------------------------------------------------------

export interface BalancedClientOptions {
  /** The load balancer's URL. */
  url: string;
  token: string;
  /** Protocol 2 (`auth: { token, v: 2 }`, acks by callback) or legacy (`query: { token }`, the seed's receipt). */
  v2: boolean;
  /** socket.io-client's reconnection delays. Defaults 200 and 2000 ms. */
  reconnectionDelay?: number;
  reconnectionDelayMax?: number;
}

/**
 * A socket.io-client the way an app runs one behind a load balancer: WebSocket transport, automatic
 * reconnection with the library's own backoff, and nothing done by hand on a disconnect. It acknowledges every
 * push and records them by `data.seq` (so a test pushes `{ seq }`), counting duplicates. Closed after the file.
 */
export class BalancedClient {
  readonly token: string;
  readonly v2: boolean;
  readonly socket: Socket;
  /** seq → how many times it arrived. */
  readonly received = new Map<number, number>();
  /** seq → the message id a v2 client got with it. */
  readonly ids = new Map<number, string>();
  /** Every disconnect, with socket.io-client's reason ('transport close', 'io server disconnect', …). */
  readonly disconnects: { at: number; reason: string }[] = [];
  /** How long each reconnection took, from the disconnect to the next `connect`. */
  readonly reconnectMs: number[] = [];
  connects = 0;
  #downSince: number | undefined;

  constructor(options: BalancedClientOptions) {
    this.token = options.token;
    this.v2 = options.v2;
    const credentials = options.v2
      ? { auth: { token: options.token, v: 2 } }
      : { query: { token: options.token } };
    this.socket = io(options.url, {
      forceNew: true,
      transports: ['websocket'],
      reconnection: true,
      reconnectionDelay: options.reconnectionDelay ?? 200,
      reconnectionDelayMax: options.reconnectionDelayMax ?? 2000,
      timeout: 5000,
      ...credentials,
    });
    this.socket.on('connect', () => {
      this.connects += 1;
      if (this.#downSince !== undefined) this.reconnectMs.push(Date.now() - this.#downSince);
      this.#downSince = undefined;
    });
    this.socket.on('disconnect', (reason) => {
      this.#downSince = Date.now();
      this.disconnects.push({ at: this.#downSince, reason });
    });
    this.socket.on('push_message', (message: unknown, ack?: () => void) => {
      if (this.v2) {
        const { id, data } = message as { id: string; data: { seq?: number } };
        this.#record(data?.seq, id);
        ack?.();
      } else {
        this.#record((message as { seq?: number } | null)?.seq, undefined);
        this.socket.emit('push_message_delivery', JSON.stringify({ token: this.token, data: message }));
      }
    });
    deferCleanup(() => {
      this.socket.disconnect();
    });
  }

  #record(seq: number | undefined, id: string | undefined): void {
    if (typeof seq !== 'number') return;
    this.received.set(seq, (this.received.get(seq) ?? 0) + 1);
    if (id !== undefined) this.ids.set(seq, id);
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Deliveries beyond the first of each message. */
  get duplicates(): number {
    let extra = 0;
    for (const n of this.received.values()) extra += n - 1;
    return extra;
  }

  /** Resolves on the first `connect`; rejects when the first attempt fails. */
  firstConnect(timeout = 10_000): Promise<void> {
    if (this.connects > 0) return Promise.resolve();
    return withTimeout(
      new Promise<void>((resolve, reject) => {
        this.socket.once('connect', () => resolve());
        this.socket.once('connect_error', (err) => reject(err));
      }),
      timeout,
      `client ${this.token} connects`,
    );
  }
}
