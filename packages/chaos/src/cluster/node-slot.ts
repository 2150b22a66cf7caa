import {
  FaultProxy,
  freePort,
  isRunning,
  pollUntil,
  type Child,
  type ProcessGroup,
} from '@io-session/devtools';
import type { History } from '../history.js';

export const CHAOS_API_KEY = 'chaos-api-key-0123456789abcdef';
export const CHAOS_PREFIX = 'chaos';

/** What every node of a run is started with. */
export interface NodeSettings {
  cli: string;
  group: ProcessGroup;
  history: History;
  env: Record<string, string>;
}

/**
 * One place in the cluster: a port, the fault proxy between its node and Redis, and the node process living
 * there now. Each start is a new incarnation with its own NODE_ID (`n<slot>-<generation>`), so that a
 * registration left by a dead process can be told from one of the live process.
 */
export class NodeSlot {
  #child: Child | undefined;
  #generation = 0;
  #nodeId = '';
  #stopped = false;
  /** Exits the run did not cause (a crash): the checker reports them. */
  readonly crashes: string[] = [];
  readonly #expectedExit = new WeakSet<Child>();

  private constructor(
    readonly index: number,
    readonly port: number,
    readonly proxy: FaultProxy,
    private readonly settings: NodeSettings,
  ) {}

  static async create(index: number, redisPort: number, settings: NodeSettings): Promise<NodeSlot> {
    const proxy = await FaultProxy.start({ target: { port: redisPort } });
    return new NodeSlot(index, await freePort(), proxy, settings);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get nodeId(): string {
    return this.#nodeId;
  }

  /** Running (it may be stopped or partitioned). */
  get up(): boolean {
    return this.#child !== undefined && isRunning(this.#child.proc);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Up, not stopped, not partitioned: a node a client should pick. */
  get healthy(): boolean {
    return this.up && !this.#stopped && this.proxy.partitioned === undefined;
  }

  async start(): Promise<void> {
    this.#generation++;
    this.#nodeId = `n${this.index}-${this.#generation}`;
    const env = {
      ...this.settings.env,
      REDIS_URL: this.proxy.url,
      PORT: String(this.port),
      NODE_ID: this.#nodeId,
    };
    const child = this.settings.group.spawn(this.#nodeId, process.execPath, [this.settings.cli, 'node'], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    this.#child = child;
    const nodeId = this.#nodeId;
    void child.exited.then((code) => {
      if (this.#expectedExit.has(child)) return;
      this.crashes.push(
        `${nodeId} exited by itself (code ${code ?? child.proc.signalCode}): ${child.output().slice(-2000)}`,
      );
      this.settings.history.add({ kind: 'node-down', t: Date.now(), slot: this.index, nodeId, how: 'crash' });
    });
    await pollUntil(
      async () => {
        if (!isRunning(child.proc)) throw new Error(`${nodeId} exited while starting: ${child.output()}`);
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1000) }).catch(
          () => null,
        );
        return res?.status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 50, message: `${nodeId} /readyz answers 200` },
    );
    this.settings.history.add({ kind: 'node-up', t: Date.now(), slot: this.index, nodeId, pid: child.pid });
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async end(signal: 'SIGKILL' | 'SIGTERM', graceMs = 20_000): Promise<void> {
    const child = this.#child;
    if (!child || !isRunning(child.proc)) return;
    this.#expectedExit.add(child);
    if (this.#stopped) this.cont();
    this.settings.history.add({
      kind: 'node-down',
      t: Date.now(),
      slot: this.index,
      nodeId: this.#nodeId,
      how: signal,
    });
    await this.settings.group.stop(child, signal, graceMs);
  }

  /** SIGSTOP: the process is frozen, its sockets stay open. */
  stop(): void {
    if (this.#child && isRunning(this.#child.proc)) this.#stopped = this.#child.proc.kill('SIGSTOP');
  }

  cont(): void {
    if (this.#stopped && this.#child) this.#child.proc.kill('SIGCONT');
    this.#stopped = false;
  }

  async close(): Promise<void> {
    await this.end('SIGKILL');
    await this.proxy.close();
  }
}
