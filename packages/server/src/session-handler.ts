import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import {
  BackgroundLoop,
  NodeRegistry,
  SessionStore,
  StoreErrorCode,
  Sweeper,
  openRedis,
  silentLogger,
  type AckResult,
  type EventItem,
  type Logger,
  type NotificationMode,
  type PendingMessage,
  type Protocol,
  type PushResult,
  type RedisClient,
  type RedisTarget,
  type SessionPage,
  type SessionRecord,
} from '@io-session/store';
import {
  QueueName,
  queuePrefix,
  type PushJobMessage,
  type ReceiptsJob,
  type SessionEventJob,
} from '@io-session/worker';
import { Queue, type Worker } from 'bullmq';
import type { Namespace, Server, Socket } from 'socket.io';
import { createAuthenticator, type Authenticator } from './auth.js';
import type { ClientDataEvent, ConnectionEvent, DeliveredEvent, SessionHandlerEvents } from './events.js';
import { OutboxRelay } from './outbox-relay.js';
import { ClientEventError, type SessionErrorCode } from './protocol/session-error.js';
import { parseClientData, parseDelivery } from './protocol/client-events.js';
import { RateLimiter } from './protocol/rate-limiter.js';
import { envelope, protocolOf } from './protocol/wire.js';
import { NodeMetrics } from './metrics.js';
import { startPushConsumer } from './push-consumer.js';
import { PushRouter, type RoutedCommand } from './push-router.js';

/** Options of `from(io, options)`. Every field is optional; defaults are in `handlerDefaults`. */
export interface SessionHandlerOptions {
  /** Grace after a session's last connection drops before it ends (the seed's `timeout`). Default 5000 ms. */
  timeout?: number;
  /** Redis: a URL, `{ cluster: ['host:port', …] }`, or an ioredis Redis / Cluster (duplicated, never closed). Default `redis://127.0.0.1:6379`. */
  redis?: RedisTarget;
  /** Prefix of every Redis key and BullMQ queue. Default `'ios'`. */
  prefix?: string;
  /** This node's id in the cluster. Default `<hostname>-<pid>`. */
  nodeId?: string;
  /** How long an unacknowledged push waits for its session. Default 3600000 ms. */
  messageTtlMs?: number;
  /** How long the status of a settled message stays queryable. Default 600000 ms. */
  statusRetentionMs?: number;
  /** Largest client event or push accepted, in bytes of JSON. Default 65536. */
  maxPayloadBytes?: number;
  /** Client events a connection may send per second (bursts of twice that). Default 50. */
  rateLimitPerSec?: number;
  /** How a handshake's token is checked: `{ mode: 'none' }` (default, the seed's plain token), `{ mode: 'jwt', secret }`, or a function. */
  auth?: { mode: 'none' } | { mode: 'jwt'; secret: string } | Authenticator;
  /** Heartbeat interval / time-to-live of this node. Defaults 2000 / 10000 ms. */
  heartbeatMs?: number;
  heartbeatTtlMs?: number;
  /** How often the sweeper checks for ended graces and dead nodes. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** Keyspace notifications as a fast path for grace ends. Default `'auto'`. */
  keyspaceNotifications?: NotificationMode;
  /** Hash-tagged buckets sessions are spread over; the same on every node. Default 64. */
  buckets?: number;
  /** Replicas that must have a push (Redis `WAIT`) before it counts as stored. Default 0 (see README: failover). */
  replicaAcks?: number;
  /** Completed receipts / session-events jobs kept per queue for inspection (QUEUE_KEEP_COMPLETED). Default 0. */
  keepCompletedJobs?: number;
  /** Consume the BullMQ `push` queue on this node. Default true. */
  consumePushQueue?: boolean;
  /** Install the sharded Redis adapter on `io` (required for a cluster). Default true. */
  installAdapter?: boolean;
  logger?: Logger;
}

export const handlerDefaults = {
  timeout: 5000,
  redis: 'redis://127.0.0.1:6379',
  prefix: 'ios',
  messageTtlMs: 3_600_000,
  maxPayloadBytes: 65_536,
  rateLimitPerSec: 50,
  consumePushQueue: true,
  installAdapter: true,
} as const;

/** The seed's shape of a session held by this node. */
export interface LocalSession {
  token: string;
  connections: string[];
  data: unknown;
}

interface SocketState {
  token: string;
  /** What events may call this session: its token, and the JWT the connection presented. */
  names: readonly string[];
  protocol: Protocol;
  limiter: RateLimiter;
  /**
   * Acknowledgements answer messages the server sent — a returning client may owe a whole backlog at once —
   * so they have their own, larger bucket (20× the event rate).
   */
  ackLimiter: RateLimiter;
  /** Messages waiting for this session when the connection was registered: sent once it is connected. */
  pending: PendingMessage[];
  /** Pushes routed to this socket before it was connected (null once connected). */
  buffered: PendingMessage[] | null;
  connected: boolean;
  /** Unregistration has started (it happens once). */
  released: boolean;
  /** The session was logged out before the socket was connected. */
  loggedOut: boolean;
}

interface LocalEntry {
  sockets: Map<string, Socket>;
  /** The node-index entry for the token (written before any of its connections is registered). */
  tracked: Promise<void> | undefined;
  /** Sockets from the start of their registration to the end of their unregistration. */
  refs: number;
  data: unknown;
}

const PUSH = 'push_message';
const ROOM_LEGACY = 'v:1';
const ROOM_V2 = 'v:2';

/**
 * A cluster-wide io-session-handler: token sessions with several connections, a grace timeout, pushes with
 * delivery receipts. All state lives in Redis; any number of nodes share it.
 *
 * @example
 * const handler = from(io, { timeout: 5000, redis: 'redis://127.0.0.1:6379' });
 * handler.connectionListener(({ token, status }) => console.log(token, status ? 'started' : 'ended'));
 * await handler.pushMessage('user-42', { text: 'hi' });
 */
export class SessionHandler extends EventEmitter<SessionHandlerEvents> {
  readonly nodeId: string;
  readonly store: SessionStore;
  readonly registry: NodeRegistry;
  readonly timeout: number;
  /** Prometheus metrics of this node (served at `/metrics` by the node command). */
  readonly metrics = new NodeMetrics();
  readonly #io: Server;
  readonly #opts: SessionHandlerOptions;
  readonly #logger: Logger;
  readonly #redis: RedisClient;
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  readonly #bull: RedisClient;
  readonly #authenticate: Authenticator;
  readonly #sweeper: Sweeper;
  readonly #relay: OutboxRelay;
  readonly #recovery: BackgroundLoop;
  readonly #receiptsQueue: Queue<ReceiptsJob>;
  readonly #eventsQueue: Queue<SessionEventJob>;
  #router!: PushRouter;
  #pushConsumer: Worker | undefined;
  readonly #local = new Map<string, LocalEntry>();
  #ready: Promise<void> | undefined;
  #started = false;
  readonly #ownsAdapter: boolean;
  readonly #startedAt = Date.now();
  #draining = false;
  #closed: Promise<void> | undefined;
  /** Unregistrations in flight (each retried until Redis takes it). */
  #unregistering = new Set<Promise<void>>();

  constructor(io: Server, options: SessionHandlerOptions = {}) {
    super();
    this.#io = io;
    this.#opts = options;
    this.#logger = options.logger ?? silentLogger;
    this.timeout = options.timeout ?? handlerDefaults.timeout;
    this.nodeId = options.nodeId ?? `${hostname()}-${process.pid}`;
    const target = options.redis ?? handlerDefaults.redis;
    this.#redis = openRedis(target, { connectionName: `ios-${this.nodeId}` });
    this.#pub = openRedis(target, { connectionName: `ios-${this.nodeId}-pub` });
    this.#sub = openRedis(target, {
      connectionName: `ios-${this.nodeId}-sub`,
      maxRetriesPerRequest: null,
      subscriber: true,
    });
    this.#bull = openRedis(target, { connectionName: `ios-${this.nodeId}-bull`, maxRetriesPerRequest: null });
    this.#sub.on('smessageBuffer', () => this.metrics.pubsubReceived.inc());
    for (const [name, client] of [
      ['commands', this.#redis],
      ['pub', this.#pub],
      ['sub', this.#sub],
      ['bullmq', this.#bull],
    ] as const) {
      client.on('error', (err: Error) =>
        this.#logger.debug({ err: err.message, client: name }, 'redis error'),
      );
    }
    this.store = new SessionStore({
      redis: this.#redis,
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.buckets ? { buckets: options.buckets } : {}),
      ...(options.statusRetentionMs ? { statusRetentionMs: options.statusRetentionMs } : {}),
      ...(options.replicaAcks ? { replicaAcks: options.replicaAcks } : {}),
    });
    this.registry = new NodeRegistry({
      store: this.store,
      nodeId: this.nodeId,
      logger: this.#logger,
      onFenced: () => {
        for (const socket of this.#io.of('/').sockets.values()) socket.conn.close();
      },
      onError: () => this.metrics.backgroundErrors.inc({ loop: 'heartbeat' }),
      report: () => ({
        connections: this.connectionCount,
        sessions: this.#local.size,
        ready: this.isReady(),
        draining: this.#draining,
        pid: process.pid,
        startedAt: this.#startedAt,
        relayBacklog: this.#relay?.backlog ?? 0,
      }),
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
      ...(options.heartbeatTtlMs ? { heartbeatTtlMs: options.heartbeatTtlMs } : {}),
    });
    this.#sweeper = new Sweeper({
      store: this.store,
      graceMs: this.timeout,
      logger: this.#logger,
      onEnded: (items) => {
        const now = Date.now();
        for (const item of items)
          if (item.deadline) this.metrics.sweeperLag.observe(Math.max(0, now - item.deadline) / 1000);
        this.#publishEvents(items);
      },
      onReaped: ({ connections }) => {
        this.metrics.reapedNodes.inc();
        this.metrics.reapedConnections.inc(connections);
      },
      onError: () => this.metrics.backgroundErrors.inc({ loop: 'sweeper' }),
      ...(options.sweepIntervalMs ? { intervalMs: options.sweepIntervalMs } : {}),
      ...(options.keyspaceNotifications ? { notifications: options.keyspaceNotifications } : {}),
    });
    const prefix = queuePrefix(this.store.keys.prefix);
    // BullMQ's per-queue event stream defaults to 10,000 entries (~150 B of Redis per session at 10,000
    // sessions for session events); nothing here reads it, so keep it short.
    const queueOptions = { connection: this.#bull, prefix, streams: { events: { maxLen: 500 } } };
    this.#receiptsQueue = new Queue<ReceiptsJob>(QueueName.receipts, queueOptions);
    this.#eventsQueue = new Queue<SessionEventJob>(QueueName.sessionEvents, queueOptions);
    for (const q of [this.#receiptsQueue, this.#eventsQueue]) {
      q.on('error', (err) => this.#logger.debug({ err: err.message }, 'queue error'));
    }
    this.#relay = new OutboxRelay({
      store: this.store,
      receipts: this.#receiptsQueue,
      events: this.#eventsQueue,
      instance: this.registry.instance,
      logger: this.#logger,
      keepCompleted: options.keepCompletedJobs ?? 0,
      onError: () => this.metrics.backgroundErrors.inc({ loop: 'relay' }),
      onRelayed: (items) => {
        const receipts = items.filter((i) => i.kind === 'receipt').length;
        if (receipts > 0) this.metrics.receiptsQueued.inc(receipts);
      },
    });
    this.#recovery = new BackgroundLoop(
      { name: 'outbox-recovery', intervalMs: 5000, logger: this.#logger },
      () => this.#relay.recover().then(() => undefined),
    );
    const auth = options.auth ?? { mode: 'none' as const };
    this.#authenticate =
      typeof auth === 'function'
        ? auth
        : createAuthenticator(auth.mode, auth.mode === 'jwt' ? auth.secret : undefined);

    this.#ownsAdapter = options.installAdapter ?? handlerDefaults.installAdapter;
    if (this.#ownsAdapter) {
      io.adapter(createShardedAdapter(this.#pub, this.#sub, { subscriptionMode: 'dynamic' }));
    }
    this.#router = new PushRouter(io, {
      onCommand: (command) => this.#onRoutedCommand(command),
      awaitSubscribed: (channel) =>
        (this.#sub as unknown as { ssubscribe(c: string): Promise<unknown> }).ssubscribe(channel),
    });
    io.use((socket, next) => {
      this.#admit(socket).then(
        () => next(),
        (err: Error) => next(err),
      );
    });
    io.on('connection', (socket) => this.#onConnection(socket));
    this.#registerGauges();
    this.#ready = this.#start();
    this.#ready.catch((err: unknown) => this.#logger.error({ err }, 'io-session failed to start'));
  }

  /** Resolves when Redis, the adapter and the background work are up. Rejects with a clear error otherwise. */
  ready(): Promise<void> {
    return this.#ready ?? Promise.resolve();
  }

  /** True while Redis answers and the node is not draining: what `/readyz` reports. */
  isReady(): boolean {
    return (
      this.#started &&
      !this.#draining &&
      this.#redis.status === 'ready' &&
      this.#sub.status === 'ready' &&
      this.#pub.status === 'ready'
    );
  }

  get draining(): boolean {
    return this.#draining;
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
    return [...this.#local].map(([token, entry]) => ({
      token,
      connections: [...entry.sockets.keys()],
      data: entry.data,
    }));
  }

  /** Connections this node holds. */
  get connectionCount(): number {
    let n = 0;
    for (const entry of this.#local.values()) n += entry.sockets.size;
    return n;
  }

  getSession(token: string): Promise<SessionRecord | null> {
    return this.store.getSession(token);
  }

  getSessions(options: { cursor?: string | null; limit?: number } = {}): Promise<SessionPage> {
    return this.store.getSessions(options);
  }

  /**
   * Stores a message for `token`'s session and sends it to every connection of it, wherever they are.
   * @returns true when the session exists and the message is stored (it will be re-sent until acknowledged).
   */
  async pushMessage(token: string, data: unknown): Promise<boolean> {
    const result = await this.push({ token, data });
    return result.stored;
  }

  /** `pushMessage` with the message id and TTL exposed; what the HTTP API and the push queue use. */
  async push(message: PushJobMessage): Promise<PushResult> {
    const [result] = await this.pushMany([message]);
    return result as PushResult;
  }

  /**
   * Stores several messages (one Redis call per bucket), then routes each stored one to the nodes holding
   * its session's sockets, in the order given. Results in the order given.
   */
  async pushMany(messages: PushJobMessage[]): Promise<PushResult[]> {
    const inputs = messages.map((message) => ({
      token: message.token,
      data: message.data,
      ttlMs: message.ttlMs ?? this.#opts.messageTtlMs ?? handlerDefaults.messageTtlMs,
      ...(message.id !== undefined ? { id: message.id } : {}),
    }));
    const results = await this.metrics.time(
      'push',
      inputs.length === 1 ? Promise.all([this.store.push(inputs[0]!)]) : this.store.pushMany(inputs),
    );
    const sends: Promise<void>[] = [];
    results.forEach((result, i) => {
      this.metrics.pushes.inc({
        result: result.stored ? (result.duplicate ? 'duplicate' : 'stored') : result.reason,
      });
      if (result.stored && !result.duplicate && result.connections > 0) {
        const { token, data } = inputs[i]!;
        sends.push(this.#router.send({ kind: 'push', token, id: result.id, data, ts: result.ts }));
      }
    });
    await Promise.all(sends);
    return results;
  }

  /** Sends `data` to every connected client of the cluster, at most once, without receipts. */
  broadcastMessage(data: unknown): void {
    this.#io.to(ROOM_LEGACY).emit(PUSH, data);
    this.#io.to(ROOM_V2).emit(PUSH, { id: `b.${randomUUID()}`, data, ts: Date.now() });
  }

  /** Ends `token`'s session now: every connection gets `logout` and is closed. @returns false if there was none. */
  async logout(token: string): Promise<boolean> {
    const ended = await this.store.logout(token);
    if (!ended) return false;
    this.#publishEvents([ended]);
    await this.#router.send({ kind: 'logout', token });
    return true;
  }

  /**
   * Stops taking connections and disconnects this node's clients spread over `spreadMs` (so that they
   * reconnect elsewhere without a storm; their sessions do not end), then waits for their unregistration.
   */
  async drain(spreadMs = 0): Promise<void> {
    this.#draining = true;
    const sockets = [...this.#io.of('/').sockets.values()];
    const step = sockets.length > 0 ? spreadMs / sockets.length : 0;
    for (const socket of sockets) {
      // Close the transport, not the Socket.IO session: after a DISCONNECT packet ('io server disconnect')
      // socket.io-client would not reconnect by itself; after a transport close it reconnects elsewhere.
      socket.conn.close();
      if (step >= 1) await new Promise((resolve) => setTimeout(resolve, step));
    }
    while (this.#unregistering.size > 0) await Promise.all(this.#unregistering);
  }

  /** Graceful: drains, hands over what is in flight, leaves the cluster, releases Redis. */
  close(options: { drainMs?: number } = {}): Promise<void> {
    this.#closed ??= this.#close(options.drainMs ?? 0);
    return this.#closed;
  }

  get notificationsEnabled(): boolean {
    return this.#sweeper.notificationsEnabled;
  }

  #registerGauges(): void {
    const m = this.metrics;
    m.gauge('ios_connections', 'Connections held by this node', () => this.connectionCount);
    m.gauge('ios_sessions_node', 'Sessions with a connection on this node', () => this.#local.size);
    m.gauge('ios_sessions_cluster', 'Sessions in the whole cluster', () => this.store.countSessions());
    m.gauge(
      'ios_pending_messages',
      'Pushes waiting for an acknowledgement, cluster-wide',
      async () => (await this.store.messageStats()).pending,
    );
    m.gauge(
      'ios_messages_pushed',
      'Pushes stored, cluster-wide, since the counters began',
      async () => (await this.store.messageStats()).pushed,
    );
    m.gauge(
      'ios_messages_delivered',
      'Pushes delivered, cluster-wide',
      async () => (await this.store.messageStats()).delivered,
    );
    m.gauge(
      'ios_messages_expired',
      'Pushes expired unacknowledged, cluster-wide',
      async () => (await this.store.messageStats()).expired,
    );
    m.gauge(
      'ios_relay_backlog',
      'Outbox items this node has yet to put on a queue',
      () => this.#relay.backlog,
    );
    m.gauge('ios_ready', '1 while the node is ready', () => (this.isReady() ? 1 : 0));
  }

  async #start(): Promise<void> {
    await this.store.verifyLayout();
    await this.registry.start();
    await this.#sweeper.start();
    this.#recovery.start();
    if (this.#opts.consumePushQueue ?? handlerDefaults.consumePushQueue) {
      this.#pushConsumer = startPushConsumer({
        connection: this.#bull,
        prefix: queuePrefix(this.store.keys.prefix),
        logger: this.#logger,
        push: (messages) => this.pushMany(messages),
        broadcast: (data) => this.broadcastMessage(data),
      });
    }
    this.#started = true;
    this.#logger.info(
      {
        nodeId: this.nodeId,
        instance: this.registry.instance,
        notifications: this.#sweeper.notificationsEnabled,
      },
      'io-session node ready',
    );
  }

  async #close(drainMs: number): Promise<void> {
    await this.#ready?.catch(() => undefined);
    await this.drain(drainMs);
    // Each hand-over step waits for Redis, but a node asked to stop while Redis is away must still stop:
    // what a step leaves undone (node index, relayed outbox) survivors finish after the heartbeat lapses.
    const bounded = (what: string, work: Promise<unknown>): Promise<unknown> =>
      Promise.race([work, new Promise((resolve) => setTimeout(resolve, 5000).unref())]).catch(
        (err: unknown) =>
          this.#logger.warn({ err, step: what }, 'close step failed; survivors will finish it'),
      );
    await bounded('push consumer', this.#pushConsumer?.close() ?? Promise.resolve());
    await this.#recovery.stop();
    await bounded('relay', this.#relay.close());
    await bounded('sweeper', this.#sweeper.close());
    await bounded('registry', this.registry.close());
    await bounded('queues', Promise.all([this.#receiptsQueue.close(), this.#eventsQueue.close()]));
    if (this.#ownsAdapter) await this.#closeAdapters();
    await Promise.all(
      [this.#redis, this.#pub, this.#sub, this.#bull].map((c) => c.quit().catch(() => c.disconnect())),
    );
    this.#logger.info({ nodeId: this.nodeId }, 'io-session node closed');
  }

  /**
   * Closes the adapters (their channels are unsubscribed while the Redis clients still run) and makes a later
   * `io.close()` skip them: its unsubscribes would otherwise hit closed clients.
   */
  async #closeAdapters(): Promise<void> {
    const namespaces = (this.#io as unknown as { _nsps: Map<string, Namespace> })._nsps;
    for (const nsp of namespaces.values()) {
      const adapter = nsp.adapter as { close?: () => Promise<void> | void };
      await Promise.resolve(adapter.close?.()).catch(() => undefined);
      adapter.close = () => undefined;
    }
  }

  /**
   * Handshake middleware: authenticates, then registers the connection in Redis before the client is told it
   * is connected — so that a session exists by the time its client sees `connect`. From then on exactly one
   * of `disconnect` (connected sockets) or the transport's `close` (sockets that never got connected)
   * unregisters it.
   */
  async #admit(socket: Socket): Promise<void> {
    if (this.#draining) throw new Error('draining');
    const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    const query = socket.handshake.query as Record<string, unknown>;
    const credential = auth.token ?? query.token;
    const token = await this.#authenticate(credential);
    const state: SocketState = {
      token,
      names: typeof credential === 'string' && credential !== token ? [token, credential] : [token],
      protocol: protocolOf(auth, query),
      limiter: new RateLimiter(this.#opts.rateLimitPerSec ?? handlerDefaults.rateLimitPerSec),
      ackLimiter: new RateLimiter(20 * (this.#opts.rateLimitPerSec ?? handlerDefaults.rateLimitPerSec)),
      pending: [],
      buffered: [],
      connected: false,
      released: false,
      loggedOut: false,
    };
    socket.data.ios = state;
    if (!(await this.#register(socket, state))) throw new Error('unavailable');
    const onClose = (): void => {
      if (!state.connected) this.#release(socket, state);
    };
    socket.conn.once('close', onClose);
    if (socket.conn.readyState !== 'open') onClose();
  }

  #onConnection(socket: Socket): void {
    const state = socket.data.ios as SocketState;
    state.connected = true;
    socket.on('client_data', (raw: unknown) =>
      this.#guard(socket, state.limiter, () => this.#onClientData(state, raw)),
    );
    socket.on('push_message_delivery', (raw: unknown) =>
      this.#guard(socket, state.ackLimiter, () => this.#onDelivery(socket, state, raw)),
    );
    socket.on('disconnect', () => this.#release(socket, state));
    if (state.released) return;
    if (state.loggedOut) {
      socket.emit('logout');
      socket.disconnect(true);
      return;
    }
    void socket.join(state.protocol === 2 ? ROOM_V2 : ROOM_LEGACY);
    const sent = new Set<string>();
    for (const message of state.pending) {
      sent.add(message.id);
      this.#send(socket, state, message);
    }
    for (const message of state.buffered ?? []) if (!sent.has(message.id)) this.#send(socket, state, message);
    state.pending = [];
    state.buffered = null;
  }

  /** Registers the connection in Redis. @returns false (after undoing the local part) when Redis failed. */
  async #register(socket: Socket, state: SocketState): Promise<boolean> {
    const entry = this.#local.get(state.token) ?? {
      sockets: new Map(),
      tracked: undefined,
      refs: 0,
      data: null,
    };
    this.#local.set(state.token, entry);
    entry.sockets.set(socket.id, socket);
    entry.refs += 1;
    try {
      await this.#router.join(state.token, socket.id);
      entry.tracked ??= this.registry.track(state.token).catch((err: unknown) => {
        entry.tracked = undefined;
        throw err;
      });
      await entry.tracked;
      const result = await this.metrics.time(
        'connect',
        this.store.connect({
          token: state.token,
          socketId: socket.id,
          instance: this.registry.instance,
          protocol: state.protocol,
        }),
      );
      this.metrics.connects.inc();
      entry.data = result.data;
      state.pending = result.pending;
      this.#publishEvents(result.events);
      return true;
    } catch (err) {
      this.#logger.warn({ err, token: state.token }, 'could not register a connection; refusing it');
      entry.sockets.delete(socket.id);
      this.#router.leave(state.token, socket.id);
      entry.refs -= 1;
      if (entry.refs === 0) this.#local.delete(state.token);
      return false;
    }
  }

  /** Unregisters a registered connection, once. */
  #release(socket: Socket, state: SocketState): void {
    if (state.released) return;
    state.released = true;
    this.#track(this.#unregister(socket, state));
  }

  async #unregister(socket: Socket, state: SocketState): Promise<void> {
    const entry = this.#local.get(state.token);
    entry?.sockets.delete(socket.id);
    this.#router.leave(state.token, socket.id);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.metrics.time(
          'disconnect',
          this.store.disconnect({ token: state.token, socketId: socket.id, graceMs: this.timeout }),
        );
        this.metrics.disconnects.inc();
        break;
      } catch (err) {
        if (this.#closed && attempt > 3) {
          this.#logger.warn(
            { err, token: state.token },
            'giving up unregistering a connection; the reaper will',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2000)));
      }
    }
    if (!entry) return;
    entry.refs -= 1;
    if (entry.refs === 0) {
      this.#local.delete(state.token);
      await this.registry.untrack(state.token).catch(() => undefined);
    }
  }

  #track(work: Promise<void>): void {
    this.#unregistering.add(work);
    void work
      .catch((err: unknown) => this.#logger.warn({ err }, 'unregistering a connection failed'))
      .finally(() => this.#unregistering.delete(work));
  }

  /** Runs a client event handler: rate limit, wait for registration, refuse bad input with `session_error`. */
  #guard(socket: Socket, limiter: RateLimiter, handler: () => Promise<void>): void {
    if (!limiter.take()) {
      this.#sessionError(socket, 'rate_limited', 'too many events; slow down');
      return;
    }
    handler().catch((err: unknown) => {
      if (err instanceof ClientEventError) {
        this.#sessionError(socket, err.code, err.message);
      } else {
        this.#logger.warn({ err, socket: socket.id }, 'client event failed');
        this.#sessionError(socket, 'unavailable', 'the session store is unavailable; try again');
      }
    });
  }

  #sessionError(socket: Socket, code: SessionErrorCode, message: string): void {
    this.metrics.sessionErrors.inc({ code });
    socket.emit('session_error', { code, message });
  }

  async #onClientData(state: SocketState, raw: unknown): Promise<void> {
    const { data } = parseClientData(raw, state.names, this.#maxPayload);
    if (!(await this.store.setData(state.token, data))) return;
    const entry = this.#local.get(state.token);
    if (entry) entry.data = data;
    this.emit('clientData', { token: state.token, data });
  }

  async #onDelivery(socket: Socket, state: SocketState, raw: unknown): Promise<void> {
    const delivery = parseDelivery(raw, state.names, this.#maxPayload);
    const who = { token: state.token, nodeId: this.nodeId, socketId: socket.id };
    const result =
      delivery.kind === 'id'
        ? await this.store.ack(delivery.id, who)
        : await this.store.ackByData(delivery.data, who);
    this.#settled(result);
  }

  #settled(result: AckResult): void {
    if (!result.settled) {
      if (result.code === StoreErrorCode.ExpiredMessage)
        throw new ClientEventError('expired_message', 'the message expired before it was acknowledged');
      throw new ClientEventError('unknown_message', 'no pending message of this session matches the receipt');
    }
    if (result.duplicate) return;
    const { receipt } = result;
    this.metrics.deliveries.inc();
    this.metrics.ackLatency.observe(Math.max(0, result.deliveredAt - result.pushedAt) / 1000);
    this.#relay.enqueue([receipt]);
    this.emit(
      'delivered',
      { token: receipt.receipt.token, data: receipt.receipt.data, id: receipt.receipt.id },
      receipt.receipt,
    );
  }

  #send(socket: Socket, state: SocketState, message: PendingMessage): void {
    if (state.protocol === 1) {
      socket.emit(PUSH, message.data);
      return;
    }
    socket.emit(PUSH, envelope(message), () => {
      this.#guard(socket, state.ackLimiter, async () => {
        this.#settled(
          await this.metrics.time(
            'ack',
            this.store.ack(message.id, { token: state.token, nodeId: this.nodeId, socketId: socket.id }),
          ),
        );
      });
    });
  }

  #onRoutedCommand(command: RoutedCommand): void {
    const entry = this.#local.get(command.token);
    if (!entry) return;
    for (const socket of entry.sockets.values()) {
      const state = socket.data.ios as SocketState;
      if (command.kind === 'logout') {
        if (!state.connected) {
          state.loggedOut = true;
          continue;
        }
        socket.emit('logout');
        socket.disconnect(true);
      } else if (state.buffered) {
        state.buffered.push(command);
      } else {
        this.#send(socket, state, command);
      }
    }
  }

  #publishEvents(items: EventItem[]): void {
    if (items.length === 0) return;
    this.#relay.enqueue(items);
    for (const { event } of items) {
      this.#logger.info(
        { token: event.token, sid: event.sid, reason: event.reason },
        event.type === 'session.started' ? 'session started' : 'session ended',
      );
      this.metrics.sessionEvents.inc({ type: event.type, reason: event.reason ?? '' });
      this.emit('connection', { id: event.id, token: event.token, status: event.status });
      this.emit('session', event);
    }
  }

  get #maxPayload(): number {
    return this.#opts.maxPayloadBytes ?? handlerDefaults.maxPayloadBytes;
  }
}

/**
 * Attaches io-session to a Socket.IO server: the seed's `from(io, { timeout })`, cluster-wide.
 */
export function from(io: Server, options: SessionHandlerOptions = {}): SessionHandler {
  return new SessionHandler(io, options);
}
