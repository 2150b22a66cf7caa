import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Everything a node reports at `/metrics` (Prometheus text). One registry per node. */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly connects = new Counter({
    name: 'ios_connects_total',
    help: 'Connections registered on this node',
    registers: [this.registry],
  });
  readonly disconnects = new Counter({
    name: 'ios_disconnects_total',
    help: 'Connections unregistered on this node',
    registers: [this.registry],
  });
  readonly sessionEvents = new Counter({
    name: 'ios_session_events_total',
    help: 'Session lifecycle events this node produced',
    labelNames: ['type', 'reason'] as const,
    registers: [this.registry],
  });
  readonly pushes = new Counter({
    name: 'ios_pushes_total',
    help: 'Pushes handled by this node, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly groupJoins = new Counter({
    name: 'ios_group_joins_total',
    help: 'Group joins asked of this node (API, in-process, JWT claim), by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly groupPushes = new Counter({
    name: 'ios_group_pushes_total',
    help: 'Group pushes handled by this node, by result (each member message also counts in ios_pushes_total)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'ios_deliveries_total',
    help: 'Messages acknowledged on this node (first ack only)',
    registers: [this.registry],
  });
  readonly receiptsQueued = new Counter({
    name: 'ios_receipts_queued_total',
    help: 'Receipts this node put on the receipts queue',
    registers: [this.registry],
  });
  readonly sessionErrors = new Counter({
    name: 'ios_session_errors_total',
    help: 'Client events refused with session_error, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly ackLatency = new Histogram({
    name: 'ios_ack_latency_seconds',
    help: 'From a push being stored to its first acknowledgement (Redis clock)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly sweeperLag = new Histogram({
    name: 'ios_sweeper_lag_seconds',
    help: 'How late after its grace deadline a session was ended',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly relayDeferred = new Counter({
    name: 'ios_relay_deferred_total',
    help: 'Outbox items this node left in the Redis outbox because its relay held the most it may (the queue side is away); the recovery relays them',
    registers: [this.registry],
  });
  readonly fenced = new Counter({
    name: 'ios_fenced_total',
    help: 'Times this node learnt it had been declared dead (it stalled past its heartbeat TTL) and went on under a new instance id',
    registers: [this.registry],
  });
  readonly reapedNodes = new Counter({
    name: 'ios_reaped_nodes_total',
    help: 'Dead nodes whose connections this node reaped',
    registers: [this.registry],
  });
  readonly reapedConnections = new Counter({
    name: 'ios_reaped_connections_total',
    help: 'Connections of dead nodes reaped by this node',
    registers: [this.registry],
  });
  readonly redisLatency = new Histogram({
    name: 'ios_redis_operation_seconds',
    help: 'Latency of the Redis operations (one script each) of the session store',
    labelNames: ['op'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly pubsubReceived = new Counter({
    name: 'ios_pubsub_received_total',
    help: 'Sharded pub/sub messages this node received: routed pushes and the adapter (fan-out cost; route probes not counted)',
    registers: [this.registry],
  });
  readonly keyspaceEvents = new Counter({
    name: 'ios_keyspace_events_total',
    help: 'Keyspace notifications (grace markers expiring) this node received',
    registers: [this.registry],
  });
  readonly unheardRoutes = new Counter({
    name: 'ios_routes_unheard_total',
    help: 'Route publishes to a node instance that no subscriber heard or that failed (its resync or next connection delivers their pushes)',
    registers: [this.registry],
  });
  readonly routeResubscribes = new Counter({
    name: 'ios_route_resubscribes_total',
    help: 'Times this node found its route channel unsubscribed (its slot moved to another primary) and subscribed again',
    registers: [this.registry],
  });
  readonly unexpectedErrors = new Counter({
    name: 'ios_unexpected_errors_total',
    help: 'Unexpected errors contained (logged, and the process went on): where = http, socket, push_job, unhandled_rejection, uncaught_exception',
    labelNames: ['where'] as const,
    registers: [this.registry],
  });
  readonly backgroundErrors = new Counter({
    name: 'ios_background_errors_total',
    help: 'Failed ticks of background loops (sweeper, heartbeat, relay)',
    labelNames: ['loop'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ios_process_' });
  }

  /** Times one store operation. */
  async time<T>(op: string, work: Promise<T>): Promise<T> {
    const end = this.redisLatency.startTimer({ op });
    try {
      return await work;
    } finally {
      end();
    }
  }

  /** Gauges whose value is read when Prometheus scrapes. */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }
}
