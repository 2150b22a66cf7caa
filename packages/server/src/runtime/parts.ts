import { createShardedAdapter } from '@socket.io/redis-adapter';
import { Sweeper } from '@io-session/store';
import type { Namespace, Socket } from 'socket.io';
import { authenticatorOf } from '../auth.js';
import { ConnectionLimits } from '../connections/connection-limits.js';
import { admit } from '../connections/admission.js';
import { Registration } from '../connections/registration.js';
import { handlerDefaults } from '../defaults.js';
import { Holding } from '../delivery/holding.js';
import { Pusher } from '../delivery/pusher.js';
import { OutboxRelay } from '../delivery/relay.js';
import { RouteChannel, type RoutePacket } from '../delivery/route-channel.js';
import { ClientProtocol } from '../protocol/client-protocol.js';
import { stateOf } from '../protocol/socket-state.js';
import type { NodeRuntime } from './node-runtime.js';
import { adapterView } from './redis-clients.js';

/** Builds the parts of a node from what the runtime already made (clients, store, registry, queues, metrics). */
export function makeParts(node: NodeRuntime) {
  const sweeper = makeSweeper(node);
  const relay = makeRelay(node);
  return { sweeper, relay, ...makeDelivery(node) };
}

function makeSweeper(node: NodeRuntime): Sweeper {
  const { store, metrics, logger, options: o } = node;
  return new Sweeper({
    store,
    reaper: node.registry,
    graceMs: o.timeout,
    intervalMs: o.sweepIntervalMs,
    notifications: o.keyspaceNotifications,
    logger,
    onEnded: (items) => {
      const now = Date.now();
      for (const item of items)
        if (item.deadline) metrics.sweeperLag.observe(Math.max(0, now - item.deadline) / 1000);
      node.publish(items);
    },
    onReaped: ({ connections }) => {
      metrics.reapedNodes.inc();
      metrics.reapedConnections.inc(connections);
    },
    onNotification: () => metrics.keyspaceEvents.inc(),
    onError: () => metrics.backgroundErrors.inc({ loop: 'sweeper' }),
  });
}

function makeRelay(node: NodeRuntime): OutboxRelay {
  const { metrics } = node;
  return new OutboxRelay({
    store: node.store,
    queues: node.queues,
    instance: () => node.registry.instance,
    logger: node.logger,
    keepCompleted: node.options.keepCompletedJobs,
    tracing: node.tracing,
    onError: () => metrics.backgroundErrors.inc({ loop: 'relay' }),
    onDeferred: (items) => metrics.relayDeferred.inc(items),
    onRelayed: (items) => {
      const receipts = items.reduce((n, i) => n + (i.kind === 'receipts' ? i.receipts.length : 0), 0);
      if (receipts > 0) metrics.receiptsQueued.inc(receipts);
    },
  });
}

/** This node's route channel: routed pushes go to the holding, routed logouts to the local sockets. */
function makeChannel(
  node: NodeRuntime,
  holding: Holding,
  logoutLocal: (token: string, sid: string) => void,
): RouteChannel {
  return new RouteChannel({
    pub: node.clients.pub,
    sub: node.clients.sub,
    keys: node.store.keys,
    instance: () => node.registry.instance,
    logger: node.logger,
    onPacket: node.containment.wrap('socket', (packet: RoutePacket) => {
      if ('p' in packet) holding.routed(packet.p);
      else logoutLocal(packet.logout.token, packet.logout.sid);
    }),
    onUnheard: () => node.metrics.unheardRoutes.inc(),
    probeMs: handlerDefaults.routeProbeMs,
    onResubscribe: () => node.metrics.routeResubscribes.inc(),
    onError: () => node.metrics.backgroundErrors.inc({ loop: 'route-probe' }),
  });
}

/** The delivery path: route channel → holding → senders (client protocol), registration, pusher. */
function makeDelivery(node: NodeRuntime) {
  const { store, registry, metrics, logger, local, options: o } = node;
  const late: { protocol?: ClientProtocol; registration?: Registration } = {};
  const holding = new Holding({
    store,
    local,
    logger,
    senderOf: (socket: Socket) => stateOf(socket).sender,
    resyncMs: o.resyncIntervalMs,
    onError: () => metrics.backgroundErrors.inc({ loop: 'resync' }),
  });
  const logoutLocal = (token: string, sid: string): void => late.protocol?.logoutLifetime(token, sid);
  const channel = makeChannel(node, holding, logoutLocal);
  const protocol = new ClientProtocol({
    store,
    local,
    registration: () => late.registration as Registration,
    metrics,
    logger,
    nodeId: o.nodeId,
    maxPayloadBytes: o.maxPayloadBytes,
    maxBufferedBytes: o.maxBufferedBytes,
    onClientData: (event) => node.events.emit('clientData', event),
    tracing: node.tracing,
  });
  const registration = new Registration({
    store,
    registry,
    local,
    holding,
    metrics,
    logger,
    graceMs: o.timeout,
    makeSender: (socket, state) => protocol.makeSender(socket, state),
    publish: (items) => node.publish(items),
    closing: () => node.closing,
  });
  Object.assign(late, { protocol, registration });
  const pusher = new Pusher({
    io: node.io,
    store,
    channel,
    holding,
    instance: () => registry.instance,
    metrics,
    logger,
    messageTtlMs: o.messageTtlMs,
    publish: (items) => node.publish(items),
    logoutLocal,
    tracing: node.tracing,
  });
  return { channel, holding, protocol, registration, pusher };
}

/** Installs the sharded adapter (broadcasts), the handshake middleware and the connection handler on `io`. */
export function attachToSocketIo(node: NodeRuntime, draining: () => boolean): void {
  const { io, options: o } = node;
  if (o.installAdapter) {
    const closed = (): boolean => node.closed;
    const [pub, sub] = [adapterView(node.clients.pub, closed), adapterView(node.clients.sub, closed)];
    io.adapter(createShardedAdapter(pub, sub, { subscriptionMode: 'dynamic' }));
    node.namespaces.add(io.of('/'));
    io.on('new_namespace', (nsp: Namespace) => node.namespaces.add(nsp));
  }
  const admission = {
    authenticate: authenticatorOf(o.auth),
    limits: new ConnectionLimits(o),
    registration: node.registration,
    ratePerSec: o.rateLimitPerSec,
    ackRateFactor: handlerDefaults.ackRateFactor,
    draining,
    joinGroups: (token: string, groups: readonly string[]) => joinClaimedGroups(node, token, groups),
  };
  io.use((socket, next) => {
    admit(socket, admission).then(
      () => next(),
      (err: Error) => next(err),
    );
  });
  io.on(
    'connection',
    node.containment.wrap(
      'socket',
      (socket: Socket) => node.protocol.onConnection(socket),
      (socket) => ({ socket: socket.id }),
    ),
  );
}

/**
 * The groups a credential names, joined at each connection (a repeated join changes nothing). A group or session at
 * its bound is logged and skipped: the connection stays. @throws when Redis fails
 */
async function joinClaimedGroups(node: NodeRuntime, token: string, groups: readonly string[]): Promise<void> {
  const results = await Promise.all(groups.map((group) => node.store.groups.join(token, group)));
  results.forEach((result, i) => {
    node.metrics.groupJoins.inc({ result });
    if (result === 'group_full' || result === 'too_many_groups')
      node.logger.warn({ token, group: groups[i], result }, 'a group of the credential was not joined');
  });
}
