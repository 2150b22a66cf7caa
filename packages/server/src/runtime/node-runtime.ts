import type { EventEmitter } from 'node:events';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { NodeRegistry, SessionStore, Sweeper, type EventItem, type Logger } from '@io-session/store';
import { openRelayQueues, queuePrefix, type RelayQueues } from '@io-session/worker';
import type { Worker } from 'bullmq';
import type { Namespace, Server } from 'socket.io';
import { createAuthenticator, type Authenticator } from '../auth.js';
import { admit } from '../connections/admission.js';
import { closeTransports } from '../connections/drain.js';
import { LocalSessions } from '../connections/local-sessions.js';
import { Registration } from '../connections/registration.js';
import { handlerDefaults } from '../defaults.js';
import { startPushConsumer } from '../delivery/push-consumer.js';
import { Pusher } from '../delivery/pusher.js';
import { OutboxRelay } from '../delivery/relay.js';
import { PushRouter } from '../delivery/router.js';
import type { SessionHandlerEvents } from '../events.js';
import { NodeMetrics } from '../metrics.js';
import type { ResolvedOptions } from '../options.js';
import { ClientProtocol } from '../protocol/client-protocol.js';
import { registerGauges } from './gauges.js';
import { adapterView, openRedisClients, quitAll, type RedisClients } from './redis-clients.js';

/**
 * The composition root of a node: creates the Redis clients, the store, the liveness and sweeper loops, the
 * queues and the relay, the router and the push consumer, wires them to Socket.IO, and owns the start and the
 * close order. The seed-compatible façade (session-handler.ts) talks to these parts and nothing else does.
 */
export class NodeRuntime {
  readonly metrics = new NodeMetrics();
  readonly clients: RedisClients;
  readonly store: SessionStore;
  readonly registry: NodeRegistry;
  readonly local = new LocalSessions();
  readonly pusher: Pusher;
  readonly relay: OutboxRelay;
  readonly sweeper: Sweeper;
  readonly router: PushRouter;
  readonly registration: Registration;
  readonly protocol: ClientProtocol;
  readonly #queues: RelayQueues;
  readonly #logger: Logger;
  readonly #namespaces = new Set<Namespace>();
  #pushConsumer: Worker | undefined;
  #started = false;
  #draining = false;
  #closing = false;
  #closed = false;
  readonly startedAt = Date.now();

  constructor(
    readonly io: Server,
    readonly options: ResolvedOptions,
    private readonly events: EventEmitter<SessionHandlerEvents>,
  ) {
    const o = options;
    this.#logger = o.logger;
    this.clients = openRedisClients(o.redis, o.nodeId, o.logger);
    this.clients.sub.on('smessageBuffer', () => this.metrics.pubsubReceived.inc());
    this.store = new SessionStore({
      redis: this.clients.commands,
      prefix: o.prefix,
      buckets: o.buckets,
      statusRetentionMs: o.statusRetentionMs,
      replicaAcks: o.replicaAcks,
    });
    this.registry = new NodeRegistry({
      store: this.store,
      nodeId: o.nodeId,
      heartbeatMs: o.heartbeatMs,
      heartbeatTtlMs: o.heartbeatTtlMs,
      logger: o.logger,
      onFenced: () => void closeTransports(io),
      onError: () => this.metrics.backgroundErrors.inc({ loop: 'heartbeat' }),
      report: () => this.report(),
    });
    this.sweeper = this.#sweeper();
    this.#queues = openRelayQueues({
      connection: this.clients.bull,
      keyPrefix: this.store.keys.prefix,
      eventsMaxLen: handlerDefaults.queueEventsMaxLen,
      onError: (err) => o.logger.debug({ err: err.message }, 'queue error'),
    });
    this.relay = this.#relay();
    this.router = new PushRouter({
      pub: this.clients.pub,
      sub: this.clients.sub,
      keys: this.store.keys,
      logger: o.logger,
      onCommand: (command) => this.protocol.deliver(command),
    });
    this.registration = this.#registration();
    this.protocol = this.#protocol();
    this.pusher = new Pusher({
      io,
      store: this.store,
      router: this.router,
      metrics: this.metrics,
      messageTtlMs: o.messageTtlMs,
      publish: (items) => this.publish(items),
    });
    this.#attach(this.#authenticator());
    registerGauges(this);
  }

  #relay(): OutboxRelay {
    return new OutboxRelay({
      store: this.store,
      queues: this.#queues,
      instance: this.registry.instance,
      logger: this.#logger,
      keepCompleted: this.options.keepCompletedJobs,
      onError: () => this.metrics.backgroundErrors.inc({ loop: 'relay' }),
      onRelayed: (items) => {
        const receipts = items.filter((i) => i.kind === 'receipt').length;
        if (receipts > 0) this.metrics.receiptsQueued.inc(receipts);
      },
    });
  }

  #registration(): Registration {
    return new Registration({
      store: this.store,
      registry: this.registry,
      router: this.router,
      local: this.local,
      metrics: this.metrics,
      logger: this.#logger,
      graceMs: this.options.timeout,
      publish: (items) => this.publish(items),
      closing: () => this.#closing,
    });
  }

  #protocol(): ClientProtocol {
    return new ClientProtocol({
      store: this.store,
      relay: this.relay,
      local: this.local,
      registration: this.registration,
      metrics: this.metrics,
      logger: this.#logger,
      nodeId: this.options.nodeId,
      maxPayloadBytes: this.options.maxPayloadBytes,
      onDelivered: (event, receipt) => this.events.emit('delivered', event, receipt),
      onClientData: (event) => this.events.emit('clientData', event),
    });
  }

  #sweeper(): Sweeper {
    const o = this.options;
    return new Sweeper({
      store: this.store,
      graceMs: o.timeout,
      intervalMs: o.sweepIntervalMs,
      notifications: o.keyspaceNotifications,
      logger: o.logger,
      onEnded: (items) => {
        const now = Date.now();
        for (const item of items)
          if (item.deadline) this.metrics.sweeperLag.observe(Math.max(0, now - item.deadline) / 1000);
        this.publish(items);
      },
      onReaped: ({ connections }) => {
        this.metrics.reapedNodes.inc();
        this.metrics.reapedConnections.inc(connections);
      },
      onError: () => this.metrics.backgroundErrors.inc({ loop: 'sweeper' }),
    });
  }

  #authenticator(): Authenticator {
    const { auth } = this.options;
    return typeof auth === 'function'
      ? auth
      : createAuthenticator(auth.mode, auth.mode === 'jwt' ? auth.secret : undefined);
  }

  #attach(authenticate: Authenticator): void {
    const { io, options: o } = this;
    if (o.installAdapter) {
      const closed = (): boolean => this.#closed;
      const [pub, sub] = [adapterView(this.clients.pub, closed), adapterView(this.clients.sub, closed)];
      io.adapter(createShardedAdapter(pub, sub, { subscriptionMode: 'dynamic' }));
      this.#namespaces.add(io.of('/'));
      io.on('new_namespace', (nsp: Namespace) => this.#namespaces.add(nsp));
    }
    const admission = {
      authenticate,
      registration: this.registration,
      ratePerSec: o.rateLimitPerSec,
      ackRateFactor: handlerDefaults.ackRateFactor,
      draining: () => this.#draining,
    };
    io.use((socket, next) => {
      admit(socket, admission).then(
        () => next(),
        (err: Error) => next(err),
      );
    });
    io.on('connection', (socket) => this.protocol.onConnection(socket));
  }

  /** Session events the store returned: to the relay, the metrics, the log and the in-process listeners. */
  publish(items: EventItem[]): void {
    if (items.length === 0) return;
    this.relay.enqueue(items);
    for (const { event } of items) {
      this.metrics.sessionEvents.inc({ type: event.type, reason: event.reason ?? '' });
      const { token, sid, reason } = event;
      this.#logger.info({ token, sid, reason }, event.status ? 'session started' : 'session ended');
      this.events.emit('connection', { id: event.id, token, status: event.status });
      this.events.emit('session', event);
    }
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
    await this.registry.start();
    await this.sweeper.start();
    this.relay.start();
    if (this.options.consumePushQueue) {
      this.#pushConsumer = startPushConsumer({
        connection: this.clients.bull,
        prefix: queuePrefix(this.store.keys.prefix),
        logger: this.#logger,
        push: (messages) => this.pusher.pushMany(messages),
        broadcast: (data) => this.pusher.broadcast(data),
      });
    }
    this.#started = true;
    const { instance } = this.registry;
    this.#logger.info(
      { instance, notifications: this.sweeper.notificationsEnabled },
      'io-session node ready',
    );
  }

  /** Stops taking connections, closes client transports over `spreadMs`, waits for their unregistration. */
  async drain(spreadMs: number): Promise<void> {
    this.#draining = true;
    await closeTransports(this.io, spreadMs);
    await this.registration.settled();
  }

  /** Graceful: drains, hands over what is in flight, leaves the cluster, releases Redis — in this order. */
  async close(drainMs: number): Promise<void> {
    this.#closing = true;
    await this.drain(drainMs);
    // Each hand-over step waits for Redis, but a node asked to stop while Redis is away must still stop:
    // what a step leaves undone (node index, relayed outbox) survivors finish after the heartbeat lapses.
    const bounded = (what: string, work: Promise<unknown>): Promise<unknown> =>
      Promise.race([
        work,
        new Promise((resolve) => setTimeout(resolve, handlerDefaults.closeStepMs).unref()),
      ]).catch((err: unknown) =>
        this.#logger.warn({ err, step: what }, 'close step failed; survivors will finish it'),
      );
    await bounded('push consumer', this.#pushConsumer?.close() ?? Promise.resolve());
    await bounded('relay', this.relay.close());
    await bounded('sweeper', this.sweeper.close());
    await bounded('registry', this.registry.close());
    await bounded('queues', this.#queues.close());
    this.router.close();
    // The adapters unsubscribe while their Redis clients still run (a later io.close() finds them closed).
    await Promise.allSettled([...this.#namespaces].map((nsp) => nsp.adapter.close()));
    this.#closed = true;
    await quitAll(this.clients);
    this.#logger.info({ instance: this.registry.instance }, 'io-session node closed');
  }
}
