import { randomUUID } from 'node:crypto';
import type { EventItem, PushInput, PushResult, SessionStore } from '@io-session/store';
import type { PushJobMessage } from '@io-session/worker';
import type { Server } from 'socket.io';
import type { NodeMetrics } from '../metrics.js';
import { ROOM_LEGACY, ROOM_V2 } from '../protocol/client-protocol.js';
import { PUSH_EVENT } from '../protocol/wire.js';
import type { PushRouter } from './router.js';

export interface PusherOptions {
  io: Server;
  store: SessionStore;
  router: PushRouter;
  metrics: NodeMetrics;
  /** TTL of a push that names none, in ms. */
  messageTtlMs: number;
  publish: (items: EventItem[]) => void;
}

/**
 * A push is stored before it is sent: `pushMany` stores the messages (one Redis call per bucket), and only then
 * routes each stored one to the nodes holding its session's sockets, in the order given. A crash in between
 * loses nothing — the message is re-sent to every new connection of its session until acknowledged.
 */
export class Pusher {
  constructor(private readonly o: PusherOptions) {}

  /** Stores several messages, then routes the stored ones. Results in the order given. */
  async pushMany(messages: PushJobMessage[]): Promise<PushResult[]> {
    const inputs: PushInput[] = messages.map((message) => ({
      token: message.token,
      data: message.data,
      ttlMs: message.ttlMs ?? this.o.messageTtlMs,
      ...(message.id !== undefined ? { id: message.id } : {}),
    }));
    const { pushes } = this.o.store;
    const [single] = inputs;
    const results = await this.o.metrics.time(
      'push',
      inputs.length === 1 && single ? Promise.all([pushes.push(single)]) : pushes.pushMany(inputs),
    );
    const sends: Promise<void>[] = [];
    results.forEach((result, i) => {
      this.o.metrics.pushes.inc({
        result: result.stored ? (result.duplicate ? 'duplicate' : 'stored') : result.reason,
      });
      const input = inputs[i];
      if (input && result.stored && !result.duplicate && result.connections > 0) {
        const { token, data } = input;
        sends.push(this.o.router.send({ kind: 'push', token, id: result.id, data, ts: result.ts }));
      }
    });
    await Promise.all(sends);
    return results;
  }

  /** Sends `data` to every connected client of the cluster, at most once, without receipts. */
  broadcast(data: unknown): void {
    this.o.io.to(ROOM_LEGACY).emit(PUSH_EVENT, data);
    this.o.io.to(ROOM_V2).emit(PUSH_EVENT, { id: `b.${randomUUID()}`, data, ts: Date.now() });
  }

  /** Ends `token`'s session now and logs out every connection of it. @returns false if there was none. */
  async logout(token: string): Promise<boolean> {
    const ended = await this.o.store.sessions.logout(token);
    if (!ended) return false;
    this.o.publish([ended]);
    await this.o.router.send({ kind: 'logout', token });
    return true;
  }
}
