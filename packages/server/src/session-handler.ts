import { EventEmitter } from 'node:events';
import type { NodeRegistry, PushResult, SessionPage, SessionRecord, SessionStore } from '@io-session/store';
import type { PushJobMessage } from '@io-session/worker';
import type { Server } from 'socket.io';
import type { LocalSession } from './connections/local-sessions.js';
import { checkData, checkPush } from './delivery/push-input.js';
import type { ClientDataEvent, ConnectionEvent, DeliveredEvent, SessionHandlerEvents } from './events.js';
import { MAX_BATCH } from './limits.js';
import type { NodeMetrics } from './metrics.js';
import { resolveOptions, type SessionHandlerOptions } from './options.js';
import type { PayloadLimits } from './protocol/payload.js';
import type { NodeTracing } from './tracing/node-tracing.js';
import { NodeRuntime } from './runtime/node-runtime.js';

/**
 * A cluster-wide io-session-handler: token sessions with several connections, a grace timeout, pushes with
 * delivery receipts. All state lives in Redis; any number of nodes share it. This class is the seed-compatible
 * façade; the parts it stands for are composed in runtime/node-runtime.ts.
 *
 * @example
 * const handler = from(io, { timeout: 5000, redis: 'redis://127.0.0.1:6379' });
 * handler.connectionListener(({ token, status }) => console.log(token, status ? 'started' : 'ended'));
 * await handler.pushMessage('user-42', { text: 'hi' });
 */
export class SessionHandler extends EventEmitter<SessionHandlerEvents> {
  readonly nodeId: string;
  readonly timeout: number;
  readonly #node: NodeRuntime;
  readonly #ready: Promise<void>;
  readonly #limits: PayloadLimits;
  #closed: Promise<void> | undefined;

  constructor(io: Server, options: SessionHandlerOptions = {}) {
    super();
    const resolved = resolveOptions(options);
    this.nodeId = resolved.nodeId;
    this.timeout = resolved.timeout;
    this.#limits = { maxBytes: resolved.maxPayloadBytes };
    this.#node = new NodeRuntime(io, resolved, this);
    this.#ready = this.#node.start();
    this.#ready.catch((err: unknown) => resolved.logger.error({ err }, 'io-session failed to start'));
  }

  /** The session state in Redis (the HTTP API and tools read it). */
  get store(): SessionStore {
    return this.#node.store;
  }

  /** This node's liveness (its instance id and heartbeat). */
  get registry(): NodeRegistry {
    return this.#node.registry;
  }

  /** The node's OpenTelemetry spans, or undefined when tracing is off (option `tracing`). */
  get tracing(): NodeTracing | undefined {
    return this.#node.tracing;
  }

  /** Prometheus metrics of this node (served at `/metrics` by the node command). */
  get metrics(): NodeMetrics {
    return this.#node.metrics;
  }

  /** Resolves when Redis, the adapter and the background work are up. Rejects with a clear error otherwise. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** True while Redis answers and the node is not draining: what `/readyz` reports. */
  isReady(): boolean {
    return this.#node.isReady();
  }

  get draining(): boolean {
    return this.#node.draining;
  }

  get notificationsEnabled(): boolean {
    return this.#node.sweeper.notificationsEnabled;
  }

  /** The seed's listener: `{ id, token, status }`, status 1 when a session starts and 0 when it ends. */
  connectionListener(listener: (event: ConnectionEvent) => void): this {
    return this.on('connection', listener);
  }

  /** Called once per delivered message, on the node where its first acknowledgement arrived. */
  onMessageDelivered(listener: (event: DeliveredEvent) => void): this {
    return this.on('delivered', listener);
  }

  onClientData(listener: (event: ClientDataEvent) => void): this {
    return this.on('clientData', listener);
  }

  /** This node's sessions, in the seed's shape. Use `getSession(s)` for the whole cluster. */
  get sessions(): LocalSession[] {
    return this.#node.local.seedView();
  }

  /** Connections this node holds. */
  get connectionCount(): number {
    return this.#node.local.connectionCount;
  }

  getSession(token: string): Promise<SessionRecord | null> {
    return this.#node.store.reads.getSession(token);
  }

  getSessions(options: { cursor?: string | null; limit?: number } = {}): Promise<SessionPage> {
    return this.#node.store.reads.getSessions(options);
  }

  /**
   * Stores a message for `token`'s session and sends it to every connection of it, wherever they are.
   * @returns true when the session exists and the message is stored (it will be re-sent until acknowledged).
   * @throws PushRejectedError (a rejected promise) when the message breaks a limit: nothing is stored.
   */
  async pushMessage(token: string, data: unknown): Promise<boolean> {
    return (await this.push({ token, data })).stored;
  }

  /**
   * `pushMessage` with the message id and TTL exposed; what the HTTP API uses. The message is checked first
   * (token, id, `ttlMs` from 1 ms to 30 days, `data` within `maxPayloadBytes` and `MAX_DEPTH`).
   * @throws PushRejectedError naming the bad field, before anything touches Redis.
   */
  async push(message: PushJobMessage): Promise<PushResult> {
    const [result] = await this.#node.pusher.pushMany([checkPush(message, this.#limits)]);
    return result as PushResult;
  }

  /**
   * Stores several messages (one Redis call per bucket, in chunks of `MAX_BATCH`), then routes each stored one.
   * Results in order. Every message is checked before the first is stored.
   * @throws PushRejectedError naming the first bad message (`messages[3].data`); nothing is stored then.
   */
  async pushMany(messages: PushJobMessage[]): Promise<PushResult[]> {
    const checked = messages.map((m, i) => checkPush(m, this.#limits, `messages[${i}]`));
    const results: PushResult[] = [];
    for (let i = 0; i < checked.length; i += MAX_BATCH)
      results.push(...(await this.#node.pusher.pushMany(checked.slice(i, i + MAX_BATCH))));
    return results;
  }

  /**
   * Sends `data` to every connected client of the cluster, at most once, without receipts.
   * @throws PushRejectedError when `data` breaks `maxPayloadBytes` or `MAX_DEPTH`.
   */
  broadcastMessage(data: unknown): void {
    checkData(data, this.#limits);
    this.#node.pusher.broadcast(data);
  }

  /** Ends `token`'s session now: every connection gets `logout` and is closed. @returns false if there was none. */
  logout(token: string): Promise<boolean> {
    return this.#node.pusher.logout(token);
  }

  /**
   * Stops taking connections and disconnects this node's clients spread over `spreadMs` (so that they
   * reconnect elsewhere without a storm; their sessions do not end), then waits for their unregistration.
   */
  drain(spreadMs = 0): Promise<void> {
    return this.#node.drain(spreadMs);
  }

  /** Graceful: drains, hands over what is in flight, leaves the cluster, releases Redis. */
  close(options: { drainMs?: number } = {}): Promise<void> {
    this.#closed ??= this.#ready.catch(() => undefined).then(() => this.#node.close(options.drainMs ?? 0));
    return this.#closed;
  }
}

/**
 * Attaches io-session to a Socket.IO server: the seed's `from(io, { timeout })`, cluster-wide.
 */
export function from(io: Server, options: SessionHandlerOptions = {}): SessionHandler {
  return new SessionHandler(io, options);
}
