import type { EventEmitter } from 'node:events';
import {
  NodeRegistry,
  SessionStore,
  Sweeper,
  type EventItem,
  type Fencing,
  type Logger,
  type ReceiptsItem,
} from '@io-session/store';
import { openRelayQueues, queuePrefixes, type RelayQueues } from '@io-session/worker';
import type { Namespace, Server } from 'socket.io';
import { closeTransports } from '../connections/drain.js';
import { LocalSessions } from '../connections/local-sessions.js';
import type { Registration } from '../connections/registration.js';
import { handlerDefaults } from '../defaults.js';
import type { Holding } from '../delivery/holding.js';
import { startPushConsumer, type PushConsumer } from '../delivery/push-consumer.js';
import type { Pusher } from '../delivery/pusher.js';
import { pushToGroup, pushToTokens } from '../delivery/recipients.js';
import type { OutboxRelay } from '../delivery/relay.js';
import { isProbe, type RouteChannel } from '../delivery/route-channel.js';
import type { SessionHandlerEvents } from '../events.js';
import { NodeMetrics } from '../metrics.js';
import type { ResolvedOptions } from '../options.js';
import type { ClientProtocol } from '../protocol/client-protocol.js';
import { Containment } from '../containment.js';
import { NodeTracing } from '../tracing/node-tracing.js';
import { registerGauges } from './gauges.js';
import { attachToSocketIo, makeParts } from './parts.js';
import { openRedisClients, quitAll, type RedisClients } from './redis-clients.js';

/**
 * The composition root of a node: creates the Redis clients, the store, the liveness and sweeper loops, the queues
 * and the relay, the route channel, holding and push consumer (parts.ts builds them), wires them to Socket.IO, and
 * owns the start and the close order. The seed-compatible façade (session-handler.ts) talks to these parts.
 */
export class NodeRuntime {
  readonly metrics = new NodeMetrics();
  /** Contains what fails unexpectedly while serving one session or job: logged and counted, the node goes on. */
  readonly containment: Containment;
  readonly clients: RedisClients;
  readonly store: SessionStore;
  readonly registry: NodeRegistry;
  readonly local = new LocalSessions();
  readonly queues: RelayQueues;
  readonly sweeper: Sweeper;
  readonly relay: OutboxRelay;
  readonly channel: RouteChannel;
  readonly holding: Holding;
  readonly protocol: ClientProtocol;
  readonly registration: Registration;
  readonly pusher: Pusher;
  readonly logger: Logger;
  /** The node's spans; undefined when tracing is off (`options.tracing`). */
  readonly tracing: NodeTracing | undefined;
  readonly namespaces = new Set<Namespace>();
  #pushConsumer: PushConsumer | undefined;
  #started = false;
  #draining = false;
  closing = false;
  closed = false;
  readonly startedAt = Date.now();

  constructor(
    readonly io: Server,
    readonly options: ResolvedOptions,
    readonly events: EventEmitter<SessionHandlerEvents>,
  ) {
    const o = options;
    this.logger = o.logger;
    this.tracing = o.tracing ? new NodeTracing(o.nodeId) : undefined;
    this.containment = new Containment(this.metrics, o.logger);
    this.clients = openRedisClients(o.redis, o.nodeId, o.logger);
    this.clients.sub.on('smessageBuffer', (_channel: Buffer, message: Buffer) => {
      if (!isProbe(message)) this.metrics.pubsubReceived.inc();
    });
    this.store = new SessionStore({
      redis: this.clients.commands,
      prefix: o.prefix,
      buckets: o.buckets,
      ...(o.queueShards !== undefined ? { queueShards: o.queueShards } : {}),
      statusRetentionMs: o.statusRetentionMs,
      replicaAcks: o.replicaAcks,
      replicaTimeoutMs: o.replicaTimeoutMs,
      maxPendingPerSession: o.maxPendingPerSession,
      maxOutboxEntries: o.maxOutboxEntries,
    });
    this.registry = new NodeRegistry({
      store: this.store,
      nodeId: o.nodeId,
      heartbeatMs: o.heartbeatMs,
      heartbeatTtlMs: o.heartbeatTtlMs,
      logger: o.logger,
      onFenced: (fencing) => this.#fenced(fencing),
      onError: () => this.metrics.backgroundErrors.inc({ loop: 'heartbeat' }),
      report: () => this.report(),
      onLayoutError: (err) => this.#fatal(err),
    });
    this.queues = openRelayQueues({
      connection: this.clients.bull,
      keyPrefix: this.store.keys.prefix,
      shards: this.store.queueShards,
      eventsMaxLen: handlerDefaults.queueEventsMaxLen,
      onError: (err) => o.logger.debug({ err: err.message }, 'queue error'),
    });
    const parts = makeParts(this);
    this.sweeper = parts.sweeper;
    this.relay = parts.relay;
    this.channel = parts.channel;
    this.holding = parts.holding;
    this.protocol = parts.protocol;
    this.registration = parts.registration;
    this.pusher = parts.pusher;
    this.store.acks.onReceipts = (item) => this.#receipted(item);
    attachToSocketIo(this, () => this.#draining);
    registerGauges(this);
  }

  /** Receipts the store wrote to the outbox: to the relay and the in-process `delivered` listeners. */
  #receipted(item: ReceiptsItem): void {
    this.relay.enqueue([item]);
    for (const r of item.receipts)
      this.events.emit(
        'delivered',
        { token: r.token, data: r.data, id: r.id, ...(r.group !== undefined ? { group: r.group } : {}) },
        r,
      );
  }

  /** Session events the store returned: to the relay, the metrics, the log and the in-process listeners. */
  publish(items: EventItem[]): void {
    if (items.length === 0) return;
    this.relay.enqueue(items);
    for (const { event } of items) {
      this.metrics.sessionEvents.inc({ type: event.type, reason: event.reason ?? '' });
      const { token, sid, reason } = event;
      this.logger.info({ token, sid, reason }, event.status ? 'session started' : 'session ended');
      this.events.emit('connection', { id: event.id, token, status: event.status });
      this.events.emit('session', event);
    }
  }

  /** Declared dead while it stalled: listen under the new instance id, drop every socket (clients register again). */
  #fenced(fencing: Fencing): void {
    this.metrics.fenced.inc();
    this.channel.listen().catch((err: unknown) => {
      this.logger.warn(
        { err, ...fencing },
        'could not listen under the new instance id; the resync delivers',
      );
    });
    void closeTransports(this.io);
  }

  /** The node cannot go on (another layout took the cluster's Redis): stop serving, drop the clients, say so. */
  #fatal(err: Error): void {
    if (this.#draining) return;
    this.#draining = true;
    this.logger.error({ err: err.message }, 'stopping: the cluster runs another layout');
    void closeTransports(this.io);
    this.events.emit('fatal', err);
  }

  /** What this node reports in its heartbeat (`/v1/nodes`). */
  report(): Record<string, unknown> {
    return {
      connections: this.local.connectionCount,
      sessions: this.local.size,
      ready: this.isReady(),
      draining: this.#draining,
      pid: process.pid,
      startedAt: this.startedAt,
      relayBacklog: this.relay?.backlog ?? 0,
      // Recovery leaves entries this old and newer to this node (relay.ts): it still holds them.
      relayOldest: this.relay?.oldestHeld,
      streakMs: this.registry?.streakMs ?? 0,
    };
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** True while Redis answers and the node is not draining: what `/readyz` reports. */
  isReady(): boolean {
    const { commands, sub, pub } = this.clients;
    const up = commands.status === 'ready' && sub.status === 'ready' && pub.status === 'ready';
    return this.#started && !this.#draining && up;
  }

  async start(): Promise<void> {
    await this.store.verifyLayout();
    await this.channel.listen();
    await this.registry.start();
    await this.sweeper.start();
    this.relay.start();
    this.holding.start();
    if (this.options.consumePushQueue) {
      this.#pushConsumer = startPushConsumer({
        connection: this.clients.bull,
        prefixes: queuePrefixes(this.store.keys.prefix, this.store.queueShards),
        logger: this.logger,
        maxPayloadBytes: this.options.maxPayloadBytes,
        keepCompleted: this.options.keepCompletedJobs,
        onUnexpectedError: (err) => this.containment.report('push_job', err),
        push: (messages) => this.pusher.pushMany(messages),
        pushToTokens: (push, base) => pushToTokens(this.pusher, push, base),
        pushToGroup: (push, base) => pushToGroup(this.pusher, push, base),
        telemetry: this.tracing?.telemetry,
        broadcast: (data) => this.pusher.broadcast(data),
      });
    }
    this.#started = true;
    const { instance } = this.registry;
    this.logger.info({ instance, notifications: this.sweeper.notificationsEnabled }, 'io-session node ready');
  }

  /** Stops taking connections, closes client transports over `spreadMs`, waits for their unregistration. */
  async drain(spreadMs: number): Promise<void> {
    this.#draining = true;
    await closeTransports(this.io, spreadMs);
    await this.registration.settled();
  }

  /** Graceful: drains, hands over what is in flight, leaves the cluster, releases Redis — in this order. */
  async close(drainMs: number): Promise<void> {
    this.closing = true;
    await this.drain(drainMs);
    // Each hand-over step waits for Redis, but a node asked to stop while Redis is away must still stop:
    // what a step leaves undone (connections, relayed outbox) survivors finish.
    const bounded = (what: string, work: Promise<unknown>): Promise<unknown> =>
      Promise.race([
        work,
        new Promise((resolve) => setTimeout(resolve, handlerDefaults.closeStepMs).unref()),
      ]).catch((err: unknown) =>
        this.logger.warn({ err, step: what }, 'close step failed; survivors will finish it'),
      );
    await bounded('push consumer', this.#pushConsumer?.close() ?? Promise.resolve());
    await bounded('holding', this.holding.stop());
    await bounded('relay', this.relay.close());
    await bounded('sweeper', this.sweeper.close());
    await bounded('registry', this.registry.close());
    await bounded('queues', this.queues.close());
    await this.channel.close();
    this.protocol.close();
    // The adapters unsubscribe while their Redis clients still run (a later io.close() finds them closed).
    await Promise.allSettled([...this.namespaces].map((nsp) => nsp.adapter.close()));
    this.closed = true;
    await quitAll(this.clients);
    this.logger.info({ instance: this.registry.instance }, 'io-session node closed');
  }
}
