import type { NodeRuntime } from './node-runtime.js';

/** Gauges read when Prometheus scrapes: this node's holdings and the cluster's counters (kept by the scripts). */
export function registerGauges(node: NodeRuntime): void {
  const m = node.metrics;
  const stats = () => node.store.messages.stats();
  m.gauge('ios_connections', 'Connections held by this node', () => node.local.connectionCount);
  m.gauge('ios_sessions_node', 'Sessions with a connection on this node', () => node.local.size);
  m.gauge('ios_sessions_cluster', 'Sessions in the whole cluster', () => node.store.reads.countSessions());
  m.gauge(
    'ios_pending_messages',
    'Pushes waiting for an acknowledgement, cluster-wide',
    async () => (await stats()).pending,
  );
  m.gauge(
    'ios_messages_pushed',
    'Pushes stored, cluster-wide, since the counters began',
    async () => (await stats()).pushed,
  );
  m.gauge('ios_messages_delivered', 'Pushes delivered, cluster-wide', async () => (await stats()).delivered);
  m.gauge(
    'ios_messages_expired',
    'Pushes expired unacknowledged, cluster-wide',
    async () => (await stats()).expired,
  );
  m.gauge('ios_relay_backlog', 'Outbox items this node has yet to put on a queue', () => node.relay.backlog);
  m.gauge(
    'ios_heartbeat_streak_seconds',
    'How long this node has beaten without a break (Redis clock); it reaps others only past its heartbeat TTL',
    () => node.registry.streakMs / 1000,
  );
  m.gauge('ios_ready', '1 while the node is ready', () => (node.isReady() ? 1 : 0));
}
