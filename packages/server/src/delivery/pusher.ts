import { randomUUID } from 'node:crypto';
import {
  canonicalJson,
  storeDefaults,
  type EventItem,
  type GroupMemberResult,
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
import { GroupRefusedError } from './group-refused.js';
import { pushPacket, type OutgoingPush, type RouteChannel, type RoutedPush } from './route-channel.js';

export interface PusherOptions {
  io: Server;
  store: SessionStore;
  channel: RouteChannel;
  holding: Holding;
  /** This node instance: its own sessions' pushes are handed over without Redis. */
  instance: string;
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
    await this.#route(
      results,
      (i) => inputs[i] as PushInput,
      (i) => (messages[i] as PushJobMessage).data,
    );
    return results;
  }

  /**
   * Stores one message for every member of `group` (one script call per bucket and page of members, push.lua's own
   * code), then routes them like any push. `id` is the push's: its members' ids derive from it.
   * @returns the members' results; 'empty' for a group without members (nothing stored)
   * @throws GroupRefusedError when the group has more than `maxGroupSize` members (nothing stored)
   */
  async pushToGroup(push: {
    group: string;
    data: unknown;
    id: string;
    ttlMs?: number;
  }): Promise<GroupMemberResult[] | 'empty'> {
    const { store, metrics } = this.o;
    const size = await store.groups.size(push.group);
    if (size === 0) {
      metrics.groupPushes.inc({ result: 'empty' });
      return 'empty';
    }
    if (size > storeDefaults.maxGroupSize) {
      metrics.groupPushes.inc({ result: 'group_too_large' });
      throw new GroupRefusedError(
        'group_too_large',
        `group ${push.group} has ${size} members, more than one push reaches (${storeDefaults.maxGroupSize})`,
      );
    }
    const text = canonicalJson(push.data);
    const input = { group: push.group, text, id: push.id, ttlMs: push.ttlMs ?? this.o.messageTtlMs };
    const members = await metrics.time('push', store.groups.push(input));
    metrics.groupPushes.inc({ result: 'pushed' });
    const results = members.map((m) => m.result);
    const memberAt = (i: number) => ({ token: (members[i] as GroupMemberResult).token, text });
    await this.#route(results, memberAt, () => push.data);
    return members;
  }

  /**
   * Routes every stored message to the node instances holding its session: one packet per target node, in store
   * order; this node's own sessions directly. Counts the results by kind.
   */
  async #route(
    results: readonly PushResult[],
    messageAt: (i: number) => { token: string; text: string },
    dataAt: (i: number) => unknown,
  ): Promise<void> {
    const remote = new Map<string, OutgoingPush[]>();
    const local: RoutedPush[] = [];
    const counts = new Map<string, number>();
    results.forEach((result, i) => {
      const kind = result.stored ? (result.duplicate ? 'duplicate' : 'stored') : result.reason;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      if (!result.stored || result.seq === 0) return;
      const { token, text } = messageAt(i);
      for (const instance of result.holders) {
        if (instance === this.o.instance) {
          local.push([token, result.seq, result.id, result.ts, dataAt(i), text.length]);
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
        instance === this.o.instance ? this.o.logoutLocal(token, sid) : this.o.channel.send(instance, packet),
      ),
    );
    return true;
  }
}
