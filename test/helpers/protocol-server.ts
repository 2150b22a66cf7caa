import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Server, type Socket } from 'socket.io';
import { Recorder } from './clients.js';
import { deferCleanup } from './cleanup.js';

/**
 * A small Socket.IO server that speaks the client wire protocol as /work/notes/protocol-v3.md and CONTRACT §4
 * say, without Redis: pending messages per token, v3 `push_batch` frames with at most one unacknowledged
 * frame per connection (messages that arrive meanwhile go into the next frame), `ack()` / `ack({ ids })`,
 * `push_message_delivery` by `{ id }` / `{ ids }`, broadcasts without callback; v2 `push_message` one by one.
 * It records every frame, acknowledgement and delivery, so that SDK tests can count at the source.
 */
export interface Envelope {
  id: string;
  data: unknown;
  ts: number;
}

export interface SentFrame {
  token: string;
  socketId: string;
  event: 'push_batch' | 'push_message';
  ids: string[];
}

export interface ReceivedAck {
  token: string;
  socketId: string;
  /** The frame (or v2 message) the acknowledgement answered. */
  frame: string[];
  /** What the client passed to the callback (`undefined` for `ack()`). */
  reply: unknown;
}

export interface ProtocolServer {
  url: string;
  io: Server;
  /** The `v` of every handshake, in order. */
  handshakes: Recorder<{ token: string; v: unknown }>;
  frames: Recorder<SentFrame>;
  acks: Recorder<ReceivedAck>;
  deliveries: Recorder<{ token: string; payload: unknown }>;
  /** Stores a message for `token` and sends it when the connection may take a frame; returns its id. */
  push(token: string, data: unknown): string;
  /** Sends a broadcast frame (no callback) to every v3 connection of `token`. */
  broadcast(token: string, data: unknown): string;
  /** Ids still pending for `token`, in push order. */
  pending(token: string): string[];
  /** The server side of the connection of `token` (the latest one). */
  socketOf(token: string): Socket | undefined;
}

interface Connection {
  socket: Socket;
  token: string;
  v: 2 | 3;
  /** Ids of the frame waiting for its acknowledgement. */
  inFlight: string[] | null;
  /** Ids sent on this connection: one left out of an acknowledgement comes again on the next connection only. */
  sent: Set<string>;
}

export async function startProtocolServer(): Promise<ProtocolServer> {
  const http = createServer();
  const io = new Server(http);
  const pending = new Map<string, Envelope[]>();
  const connections = new Map<string, Connection>();
  const handshakes = new Recorder<{ token: string; v: unknown }>();
  const frames = new Recorder<SentFrame>();
  const acks = new Recorder<ReceivedAck>();
  const deliveries = new Recorder<{ token: string; payload: unknown }>();

  const queueOf = (token: string): Envelope[] => {
    let queue = pending.get(token);
    if (!queue) pending.set(token, (queue = []));
    return queue;
  };
  const settle = (token: string, ids: readonly string[]) => {
    const drop = new Set(ids);
    pending.set(
      token,
      queueOf(token).filter((m) => !drop.has(m.id)),
    );
  };

  const flush = (c: Connection): void => {
    if (!c.socket.connected) return;
    if (c.v === 2) return;
    if (c.inFlight) return;
    const messages = queueOf(c.token)
      .filter((m) => !c.sent.has(m.id))
      .slice(0, 200);
    if (messages.length === 0) return;
    const ids = messages.map((m) => m.id);
    for (const id of ids) c.sent.add(id);
    c.inFlight = ids;
    frames.push({ token: c.token, socketId: c.socket.id, event: 'push_batch', ids });
    c.socket.emit('push_batch', messages, (reply?: unknown) => {
      acks.push({ token: c.token, socketId: c.socket.id, frame: ids, reply });
      const named = (reply as { ids?: unknown } | undefined)?.ids;
      settle(c.token, Array.isArray(named) ? ids.filter((id) => named.includes(id)) : ids);
      c.inFlight = null;
      flush(c);
    });
  };
  const sendV2 = (c: Connection, message: Envelope): void => {
    frames.push({ token: c.token, socketId: c.socket.id, event: 'push_message', ids: [message.id] });
    c.socket.emit('push_message', message, (reply?: unknown) => {
      acks.push({ token: c.token, socketId: c.socket.id, frame: [message.id], reply });
      settle(c.token, [message.id]);
    });
  };

  io.on('connection', (socket) => {
    const auth = socket.handshake.auth as { token?: unknown; v?: unknown };
    const token = String(auth.token ?? '');
    handshakes.push({ token, v: auth.v });
    const c: Connection = { socket, token, v: auth.v === 2 ? 2 : 3, inFlight: null, sent: new Set() };
    connections.set(token, c);
    socket.on('push_message_delivery', (payload: unknown) => {
      deliveries.push({ token, payload });
      const p = payload as { id?: unknown; ids?: unknown };
      const ids = Array.isArray(p?.ids) ? (p.ids as string[]) : typeof p?.id === 'string' ? [p.id] : [];
      settle(token, ids);
    });
    if (c.v === 2) for (const message of queueOf(token)) sendV2(c, message);
    else flush(c);
  });

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  deferCleanup(() => new Promise<void>((resolve) => io.close(() => resolve())));

  return {
    url: `http://127.0.0.1:${port}`,
    io,
    handshakes,
    frames,
    acks,
    deliveries,
    push(token, data) {
      const message = { id: randomUUID(), data, ts: Date.now() };
      queueOf(token).push(message);
      const c = connections.get(token);
      if (c?.socket.connected) {
        if (c.v === 2) sendV2(c, message);
        else flush(c);
      }
      return message.id;
    },
    broadcast(token, data) {
      const id = `b.${randomUUID()}`;
      const c = connections.get(token);
      if (c?.socket.connected && c.v === 3) {
        frames.push({ token, socketId: c.socket.id, event: 'push_batch', ids: [id] });
        c.socket.emit('push_batch', [{ id, data, ts: Date.now() }]);
      }
      return id;
    },
    pending: (token) => queueOf(token).map((m) => m.id),
    socketOf: (token) => connections.get(token)?.socket,
  };
}
