import type { ClientMode, ProbeResult, SwarmClient, SwarmCommand, SwarmEvent } from '../children/messages.js';
import { childScript } from '../systems/target-child.js';
import type { Child, ProcessGroup } from '@io-session/devtools';

export interface ConnectOutcome {
  ok: number;
  failed: number;
  ms: number;
  error?: string;
}

/**
 * The client swarm: `size` child processes holding the clients (client i goes to child i mod size), so that
 * the clients' CPU is not the bench's. They share the machine with everything else.
 */
export class Swarm {
  readonly #children: Child[];
  #probes = 0;

  private constructor(children: Child[]) {
    this.#children = children;
  }

  get pids(): number[] {
    return this.#children.map((c) => c.pid);
  }

  static async start(group: ProcessGroup, size: number): Promise<Swarm> {
    const children = Array.from({ length: size }, (_, i) =>
      group.fork(`swarm-${i + 1}`, childScript('swarm'), [], { execArgv: ['--max-old-space-size=4096'] }),
    );
    await Promise.all(children.map((c) => Swarm.#next(c, (e) => e.type === 'ready')));
    return new Swarm(children);
  }

  static #next(child: Child, match: (e: SwarmEvent) => boolean): Promise<SwarmEvent> {
    return new Promise((resolve, reject) => {
      const onMessage = (event: SwarmEvent): void => {
        if (!match(event)) return;
        child.proc.off('message', onMessage);
        resolve(event);
      };
      child.proc.on('message', onMessage);
      void child.exited.then((code) =>
        reject(new Error(`${child.name} exited (${code}):\n${child.output()}`)),
      );
    });
  }

  #send(child: Child, command: SwarmCommand): void {
    child.proc.send(command);
  }

  /**
   * Connects one client per token, spread evenly over `urls`, at most `concurrency` handshakes in flight per
   * swarm process. Resolves when every client has connected or failed.
   */
  async connect(
    group: string,
    tokens: string[],
    options: { urls: string[]; mode: ClientMode; concurrency: number; onProgress?: (ok: number) => void },
  ): Promise<ConnectOutcome> {
    const n = this.#children.length;
    const perChild: SwarmClient[][] = this.#children.map(() => []);
    tokens.forEach((token, i) => {
      perChild[i % n]!.push({ token, url: options.urls[Math.floor(i / n) % options.urls.length]! });
    });
    const start = performance.now();
    const progress = new Map<Child, number>();
    const onProgress = (child: Child) => (event: SwarmEvent) => {
      if (event.type !== 'progress' || event.group !== group) return;
      progress.set(child, event.ok);
      options.onProgress?.([...progress.values()].reduce((a, b) => a + b, 0));
    };
    const listeners = this.#children.map((c) => {
      const l = onProgress(c);
      c.proc.on('message', l);
      return () => c.proc.off('message', l);
    });
    const done = this.#children.map((c) =>
      Swarm.#next(c, (e) => e.type === 'connected' && e.group === group),
    );
    this.#children.forEach((c, i) =>
      this.#send(c, {
        type: 'connect',
        group,
        clients: perChild[i]!,
        mode: options.mode,
        concurrency: options.concurrency,
      }),
    );
    const results = await Promise.all(done);
    listeners.forEach((off) => off());
    const outcome: ConnectOutcome = { ok: 0, failed: 0, ms: performance.now() - start };
    for (const r of results) {
      if (r.type !== 'connected') continue;
      outcome.ok += r.ok;
      outcome.failed += r.failed;
      if (r.error) outcome.error ??= r.error;
    }
    return outcome;
  }

  async disconnect(group: string): Promise<void> {
    const done = this.#children.map((c) =>
      Swarm.#next(c, (e) => e.type === 'disconnected' && e.group === group),
    );
    for (const c of this.#children) this.#send(c, { type: 'disconnect', group });
    await Promise.all(done);
  }

  /** From now on the clients record the latency of pushes whose data carries phase `id`. */
  startPhase(id: number): void {
    for (const c of this.#children) this.#send(c, { type: 'phase', id });
  }

  /**
   * Ends phase `id`; returns every latency sample (ms) of all clients, how many connections dropped and the
   * SDK errors by code (both since the swarm started).
   */
  async collect(
    id: number,
  ): Promise<{ samples: Float64Array; dropped: number; errors: Record<string, number> }> {
    const replies = this.#children.map((c) => Swarm.#next(c, (e) => e.type === 'samples' && e.id === id));
    for (const c of this.#children) this.#send(c, { type: 'collect', id });
    const parts = (await Promise.all(replies)).flatMap((r) => (r.type === 'samples' ? [r] : []));
    const total = parts.reduce((sum, p) => sum + p.samples.length, 0);
    const samples = new Float64Array(total);
    let at = 0;
    for (const p of parts) {
      samples.set(p.samples, at);
      at += p.samples.length;
    }
    const errors: Record<string, number> = {};
    for (const p of parts)
      for (const [code, n] of Object.entries(p.errors)) errors[code] = (errors[code] ?? 0) + n;
    return { samples, dropped: parts.reduce((sum, p) => sum + p.dropped, 0), errors };
  }

  /**
   * Opens a raw `v: 3` connection as `token` from the first swarm process, calls `push` once it is connected
   * (to send it one message), and tells which push event arrived (`event: null`: none within `timeoutMs`).
   */
  async probe(
    target: { url: string; token: string; timeoutMs: number },
    push: () => Promise<void>,
  ): Promise<ProbeResult> {
    const child = this.#children[0];
    if (!child) throw new Error('the swarm has no process');
    const id = ++this.#probes;
    const ready = Swarm.#next(child, (e) => e.type === 'probe-ready' && e.id === id);
    const probed = Swarm.#next(child, (e) => e.type === 'probed' && e.id === id);
    this.#send(child, { type: 'probe', id, ...target });
    const first = await Promise.race([ready, probed]);
    if (first.type === 'probe-ready') await push();
    const result = await probed;
    if (result.type !== 'probed') throw new Error('unexpected probe reply');
    return { event: result.event, ack: result.ack, ...(result.error ? { error: result.error } : {}) };
  }
}
