import { PushQueue } from '@io-session/worker';
import { CHAOS_API_KEY, CHAOS_PREFIX, type NodeSlot } from '../cluster/node-slot.js';
import type { History } from '../history.js';
import type { Random } from '../random.js';

export interface PusherSettings {
  history: History;
  random: Random;
  redisUrl: string;
  /** Tokens that may be pushed to now. */
  tokens: () => string[];
  pickNode: () => NodeSlot | undefined;
  ttlMs: readonly [number, number];
  pushesPerSecond: number;
}

/**
 * Pushes at a steady pace to the present sessions, half by `POST /v1/push` on a node, half by a `push` job
 * (PushQueue, straight to Redis: the app is not behind the nodes' proxies). Every push carries its own id
 * (`p<n>`), so that its fate can be read back whatever answer, if any, its producer got.
 */
export class Pusher {
  readonly #queue: PushQueue;
  #n = 0;
  /** Connection errors of the push queue (Redis away). */
  queueErrors = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(private readonly settings: PusherSettings) {
    this.#queue = new PushQueue({ connection: settings.redisUrl, prefix: CHAOS_PREFIX });
    // PushQueue has no 'error' listener of its own: without one BullMQ prints every connection error of an outage
    this.#queue.queue.on('error', () => this.queueErrors++);
  }

  start(): void {
    const every = Math.max(1, Math.round(1000 / this.settings.pushesPerSecond));
    this.#timer = setInterval(() => this.#pushOne(), every);
  }

  /** Stops pushing and waits for the pushes in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#inFlight]);
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#queue.close().catch(() => undefined);
  }

  #pushOne(): void {
    const { random } = this.settings;
    const tokens = this.settings.tokens();
    if (tokens.length === 0) return;
    const token = random.pick(tokens);
    const id = `p${++this.#n}`;
    const ttlMs = random.range(this.settings.ttlMs);
    const byQueue = random.chance(0.5);
    const push = byQueue ? this.#byQueue(token, id, ttlMs) : this.#byHttp(token, id, ttlMs);
    this.#inFlight.add(push);
    void push.finally(() => this.#inFlight.delete(push));
  }

  async #byHttp(token: string, id: string, ttlMs: number): Promise<void> {
    const t = Date.now();
    const slot = this.settings.pickNode();
    let accepted: boolean | null = null;
    let detail = 'no healthy node';
    if (slot) {
      try {
        const res = await fetch(`${slot.url}/v1/push`, {
          method: 'POST',
          headers: { authorization: `Bearer ${CHAOS_API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ token, id, ttlMs, data: { id, token } }),
          signal: AbortSignal.timeout(5_000),
        });
        detail = `${slot.nodeId} ${res.status}`;
        if (res.status === 202) accepted = true;
        else if (res.status === 404 || res.status === 429) accepted = false;
      } catch (err) {
        detail = `${slot.nodeId} ${(err as Error).message}`;
      }
    }
    this.settings.history.add({ kind: 'push', t, token, id, via: 'http', ttlMs, accepted, detail });
  }

  async #byQueue(token: string, id: string, ttlMs: number): Promise<void> {
    const t = Date.now();
    // the node that takes the job decides: the job's return value says (read back by the collector)
    const accepted = null;
    let detail = 'queued';
    try {
      await this.#queue.push(token, { id, token }, { id, ttlMs });
    } catch (err) {
      detail = `add failed (it may still have run): ${(err as Error).message}`;
    }
    this.settings.history.add({ kind: 'push', t, token, id, via: 'queue', ttlMs, accepted, detail });
  }
}
