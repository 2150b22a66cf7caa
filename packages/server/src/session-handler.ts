import { EventEmitter } from 'node:events';
import {
  storeDefaults,
  type NodeRegistry,
  type PushResult,
  type SessionPage,
  type SessionRecord,
  type SessionStore,
} from '@io-session/store';
import type { PushJobMessage } from '@io-session/worker';
import type { Server } from 'socket.io';
import type { LocalSession } from './connections/local-sessions.js';
import { checkData, checkPush, checkToken } from './delivery/push-input.js';
import {
  checkGroupName,
  checkGroupPush,
  checkTokensPush,
  GroupRefusedError,
  pushBaseId,
  pushToGroup,
  pushToTokens,
  type GroupPushResult,
  type RecipientResult,
} from './delivery/recipients.js';
import type { ClientDataEvent, ConnectionEvent, DeliveredEvent, SessionHandlerEvents } from './events.js';
import { MAX_BATCH } from './limits.js';
import type { NodeMetrics } from './metrics.js';
import { resolveOptions, type SessionHandlerOptions } from './options.js';
import type { PayloadLimits } from './protocol/payload.js';
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
   * One message to each of 1 to 1,000 distinct sessions (CONTRACT.md §10): each gets its own message, id and
   * receipt. With `options.id` the recipients' ids are derived from it (`<id>/<hash of the token>`), so a retried
   * call stores nothing twice. Results in the order given; a session that does not exist is `accepted: false`.
   * @throws PushRejectedError (an empty, oversized or repeating `tokens`, a bad field): nothing is stored
   */
  async pushToTokens(tokens: string[], data: unknown, options: PushOptions = {}): Promise<RecipientResult[]> {
    const push = checkTokensPush({ tokens, data, ...defined(options) }, this.#limits);
    return pushToTokens(this.#node.pusher, push, pushBaseId(push.id));
  }

  /**
   * One message to every session that is a member of `group` now (CONTRACT.md §10), each its own stored message and
   * receipt (which carries `group`). With `options.id` the members' ids are derived from it: a retried call stores
   * nothing twice. A group without members stores nothing: `{ id, recipients: 0, empty: true }`.
   * @throws PushRejectedError for a malformed group name or data; GroupRefusedError (`group_too_large`) above
   * `maxGroupSize` members. Nothing is stored then.
   */
  async pushToGroup(group: string, data: unknown, options: PushOptions = {}): Promise<GroupPushResult> {
    const push = checkGroupPush({ group, data, ...defined(options) }, this.#limits);
    return pushToGroup(this.#node.pusher, push, pushBaseId(push.id));
  }

  /**
   * Makes `token`'s session a member of `group` until the session ends (or `leaveGroup`). Safe to repeat.
   * @returns false when there is no such session
   * @throws PushRejectedError for a malformed name; GroupRefusedError when the group or the session is full
   */
  async joinGroup(token: string, group: string): Promise<boolean> {
    const result = await this.#node.store.groups.join(checkToken(token), checkGroupName(group));
    this.#node.metrics.groupJoins.inc({ result });
    if (result === 'group_full' || result === 'too_many_groups') throw groupRefusal(result, token, group);
    return result !== 'no_session';
  }

  /** Ends `token`'s membership of `group`. @returns false when there is no such session */
  async leaveGroup(token: string, group: string): Promise<boolean> {
    return (await this.#node.store.groups.leave(checkToken(token), checkGroupName(group))) !== 'no_session';
  }

  /** A page of `group`'s members, cluster-wide: every live member exactly once over the pages. */
  getGroupMembers(
    group: string,
    options: { cursor?: string | null; limit?: number } = {},
  ): Promise<{ tokens: string[]; next: string | null }> {
    return this.#node.store.groups.members(checkGroupName(group), options);
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

/** Options of a push to several sessions. */
export interface PushOptions {
  /** The push's id: the recipients' ids are derived from it (a retried call stores nothing twice). */
  id?: string;
  /** How long each message waits for its session. Default `messageTtlMs`. */
  ttlMs?: number;
}

function defined(options: PushOptions): PushOptions {
  return {
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
  };
}

function groupRefusal(
  reason: 'group_full' | 'too_many_groups',
  token: string,
  group: string,
): GroupRefusedError {
  return reason === 'group_full'
    ? new GroupRefusedError(reason, `group ${group} has its most members (${storeDefaults.maxGroupSize})`)
    : new GroupRefusedError(
        reason,
        `session ${token} is in its most groups (${storeDefaults.maxGroupsPerSession})`,
      );
}

/**
 * Attaches io-session to a Socket.IO server: the seed's `from(io, { timeout })`, cluster-wide.
 */
export function from(io: Server, options: SessionHandlerOptions = {}): SessionHandler {
  return new SessionHandler(io, options);
}
