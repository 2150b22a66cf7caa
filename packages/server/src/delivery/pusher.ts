import { randomUUID } from 'node:crypto';
import {
  canonicalJson,
  type EventItem,
  type Logger,
  type PushInput,
  type PushResult,
  type SessionStore,
} from '@io-session/store';
import type { PushJobMessage } from '@io-session/worker';
import type { Server } from 'socket.io';
import type { NodeMetrics } from '../metrics.js';
import { PROTOCOL_ROOMS } from '../protocol/client-protocol.js';
import { BATCH_EVENT, PUSH_EVENT } from '../protocol/wire.js';
import type { Holding } from './holding.js';
import { pushPacket, type OutgoingPush, type RouteChannel, type RoutedPush } from './route-channel.js';

export interface PusherOptions {
  io: Server;
  store: SessionStore;
  channel: RouteChannel;
  holding: Holding;
  /** This node instance: its own sessions' pushes are handed over without Redis. */
  instance: () => string;
  metrics: NodeMetrics;
  logger: Logger;
  /** TTL of a push that names none, in ms. */
  messageTtlMs: number;
  publish: (items: EventItem[]) => void;
  /** A logout of one lifetime for this node's sockets of `token`. */
  logoutLocal: (token: string, sid: string) => void;
}

/**
 * A push is stored before it is sent: `pushMany` stores the messages first (push.lua, with the pushes of the same
 * turn), and only then routes every stored one to the node instances holding its session — one packet per target
 * node, in store order; this node's own sessions directly. A duplicate still pending is routed again (a retried
 * job must not leave its first run's messages unsent); the holders drop what they already have by sequence number.
 * A crash between the two steps loses nothing: the holder's resync, or the next connection, sends it.
 */
export class Pusher {
  constructor(private readonly o: PusherOptions) {}

  /** Stores several messages, then routes the stored ones. Results in the order given. */
  async pushMany(messages: readonly PushJobMessage[]): Promise<PushResult[]> {
    const inputs: PushInput[] = messages.map((m) => ({
      token: m.token,
      text: canonicalJson(m.data),
      ttlMs: m.ttlMs ?? this.o.messageTtlMs,
      ...(m.id !== undefined ? { id: m.id } : {}),
    }));
    const results = await this.o.metrics.time('push', this.o.store.pushes.push(inputs));
    const remote = new Map<string, OutgoingPush[]>();
    const local: RoutedPush[] = [];
    const counts = new Map<string, number>();
    results.forEach((result, i) => {
      const kind = result.stored ? (result.duplicate ? 'duplicate' : 'stored') : result.reason;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      if (!result.stored || result.seq === 0) return;
      const { token, text } = inputs[i] as PushInput;
      for (const instance of result.holders) {
        if (instance === this.o.instance()) {
          local.push([
            token,
            result.seq,
            result.id,
            result.ts,
            (messages[i] as PushJobMessage).data,
            text.length,
          ]);
          continue;
        }
        const list = remote.get(instance) ?? [];
        list.push({ token, seq: result.seq, id: result.id, ts: result.ts, text });
        remote.set(instance, list);
      }
    });
    for (const [result, n] of counts) this.o.metrics.pushes.inc({ result }, n);
    if (local.length > 0) this.o.holding.routed(local);
    // Stored is what counts: a publish that fails leaves its pushes to the holder's resync (a failure here must not
    // fail the job or the request into a second message).
    const sent = await Promise.allSettled(
      [...remote].map(([instance, list]) => this.o.channel.send(instance, pushPacket(list))),
    );
    for (const s of sent) {
      if (s.status === 'fulfilled') continue;
      this.o.metrics.unheardRoutes.inc();
      this.o.logger.warn(
        { err: s.reason as unknown },
        'a route publish failed; the holder’s resync delivers its pushes',
      );
    }
    return results;
  }

  /** Sends `data` to every connected client of the cluster, at most once, without receipts. */
  broadcast(data: unknown): void {
    const { io } = this.o;
    const envelope = { id: `b.${randomUUID()}`, data, ts: Date.now() };
    io.to(PROTOCOL_ROOMS[1]).emit(PUSH_EVENT, data);
    io.to(PROTOCOL_ROOMS[2]).emit(PUSH_EVENT, envelope);
    io.to(PROTOCOL_ROOMS[3]).emit(BATCH_EVENT, [envelope]);
  }

  /** Ends `token`'s session now and logs out every connection of that lifetime. @returns false if there was none. */
  async logout(token: string): Promise<boolean> {
    const ended = await this.o.store.sessions.logout(token);
    if (!ended) return false;
    this.o.publish([ended.event]);
    const { sid } = ended.event.event;
    const packet = JSON.stringify({ logout: { token, sid } });
    await Promise.all(
      ended.holders.map((instance) =>
        instance === this.o.instance()
          ? this.o.logoutLocal(token, sid)
          : this.o.channel.send(instance, packet),
      ),
    );
    return true;
  }
}
