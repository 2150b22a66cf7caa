import {
  canonicalJson,
  StoreErrorCode,
  type AckResult,
  type Logger,
  type SessionStore,
} from '@io-session/store';
import type { Socket } from 'socket.io';
import type { LocalSessions } from '../connections/local-sessions.js';
import type { Registration } from '../connections/registration.js';
import { handlerDefaults } from '../defaults.js';
import { replayInbox } from '../delivery/replay.js';
import type { ClientDataEvent } from '../events.js';
import type { NodeMetrics } from '../metrics.js';
import type { NodeTracing } from '../tracing/node-tracing.js';
import { AckDeadlines } from './ack-deadlines.js';
import { parseClientData, parseDelivery } from './client-events.js';
import type { RateLimiter } from './rate-limiter.js';
import { Sender, type Sized } from './sender.js';
import { ClientEventError, type SessionErrorCode } from './session-error.js';
import { stateOf, type SocketState } from './socket-state.js';

export interface ClientProtocolOptions {
  store: SessionStore;
  local: LocalSessions;
  registration: () => Registration;
  metrics: NodeMetrics;
  logger: Logger;
  nodeId: string;
  maxPayloadBytes: number;
  maxBufferedBytes: number;
  onClientData: (event: ClientDataEvent) => void;
  /** Spans of sends and acknowledgements of traced pushes, when tracing is on. */
  tracing?: NodeTracing | undefined;
}

/** Rooms every connection joins by protocol, for broadcasts. */
export const PROTOCOL_ROOMS = { 1: 'v:1', 2: 'v:2', 3: 'v:3' } as const;

/** A canonical JSON text per delivery, made once (legacy receipts are matched by it). */
const canonicalOf = new WeakMap<Sized, string>();
function canonical(d: Sized): string {
  let text = canonicalOf.get(d);
  if (text === undefined) {
    text = canonicalJson(d.data);
    canonicalOf.set(d, text);
  }
  return text;
}

/**
 * The wire protocol with one connected client (CONTRACT.md §4, protocol v3): what it is sent goes through its
 * Sender; what it sends — receipts and acknowledgements, `client_data` — is validated, rate limited and refused
 * with `session_error` when bad. Nothing a client sends is trusted.
 */
export class ClientProtocol {
  /** Every connection's acknowledgement deadlines, one sweep for the node. */
  readonly deadlines = new AckDeadlines(handlerDefaults.ackSweepMs);

  constructor(private readonly o: ClientProtocolOptions) {}

  close(): void {
    this.deadlines.stop();
  }

  /** The sender of a new connection (made at registration, started when the connection is up). */
  makeSender(socket: Socket, state: SocketState): Sender {
    return new Sender({
      socket,
      protocol: state.protocol,
      maxBufferedBytes: this.o.maxBufferedBytes,
      ackTimeoutMs: handlerDefaults.ackTimeoutMs,
      deadlines: this.deadlines,
      frameMessages: handlerDefaults.frameMessages,
      frameBytes: handlerDefaults.frameBytes,
      remember: this.o.store.maxPending,
      onTraced: this.o.tracing && ((d) => this.o.tracing?.sent(d, socket.id, state.protocol)),
      onAck: (deliveries) =>
        this.#guard(socket, state.ackLimiter, async () => {
          await this.#settle(socket, state, deliveries, true);
        }),
      onStalled: (reason) => {
        const message =
          reason === 'slow_client'
            ? 'the connection does not read fast enough; its pushes wait for the next connection'
            : 'a frame was not acknowledged in time; its pushes wait for the next connection';
        this.#sessionError(socket, 'slow_client', message);
        socket.conn.close();
      },
    });
  }

  /** A socket finished its handshake (it is registered): listen to it and send what waits for it. */
  onConnection(socket: Socket): void {
    const state = stateOf(socket);
    state.connected = true;
    socket.on('client_data', (raw: unknown) =>
      this.#guard(socket, state.limiter, () => this.#onClientData(state, raw)),
    );
    socket.on('push_message_delivery', (raw: unknown) =>
      this.#guard(socket, state.ackLimiter, () => this.#onReceipt(socket, state, raw)),
    );
    socket.on('disconnect', () => this.o.registration().release(socket, state));
    if (state.released || !state.sender) return;
    if (state.loggedOut) {
      this.logout(socket);
      return;
    }
    void socket.join(PROTOCOL_ROOMS[state.protocol]);
    state.sender.start();
    const first = state.first ?? { seq: 0, pending: [], next: 1 };
    state.first = undefined;
    replayInbox(this.o.store, state.token, state.sender, first).catch((err: unknown) =>
      this.o.logger.warn({ err, token: state.token }, 'inbox replay stopped; the next connection replays it'),
    );
  }

  /** Logs out this node's connections of one lifetime of `token` (a routed logout names the lifetime it ended). */
  logoutLifetime(token: string, sid: string): void {
    const entry = this.o.local.get(token);
    if (!entry) return;
    entry.ended.add(sid);
    for (const socket of entry.sockets.values()) if (stateOf(socket).sid === sid) this.logout(socket);
  }

  /** Ends a connection whose session was logged out (at once, or when it is up). */
  logout(socket: Socket): void {
    const state = stateOf(socket);
    if (!state.connected) {
      state.loggedOut = true;
      return;
    }
    state.sender?.close();
    socket.emit('logout');
    socket.disconnect(true);
  }

  /** Runs a client event handler: rate limit, then refuse bad input with `session_error`. */
  #guard(socket: Socket, limiter: RateLimiter, handler: () => Promise<void>): void {
    if (!limiter.take()) {
      const verdict = stateOf(socket).flood.refused();
      if (verdict !== 'quiet') this.#sessionError(socket, 'rate_limited', 'too many events; slow down');
      if (verdict === 'disconnect') socket.disconnect(true);
      return;
    }
    handler().catch((err: unknown) => {
      if (err instanceof ClientEventError) {
        this.#sessionError(socket, err.code, err.message);
      } else {
        this.o.logger.warn({ err, socket: socket.id }, 'client event failed');
        this.#sessionError(socket, 'unavailable', 'the session store is unavailable; try again');
      }
    });
  }

  #sessionError(socket: Socket, code: SessionErrorCode, message: string): void {
    this.o.metrics.sessionErrors.inc({ code });
    socket.emit('session_error', { code, message });
  }

  async #onClientData(state: SocketState, raw: unknown): Promise<void> {
    const { data } = parseClientData(raw, state.names, this.o.maxPayloadBytes);
    if (!(await this.o.store.sessions.setData(state.token, data))) return;
    const entry = this.o.local.get(state.token);
    if (entry) entry.data = data;
    this.o.onClientData({ token: state.token, data });
  }

  /** `push_message_delivery`: by id(s) (v2, v3), or the seed's `{ token, data }`. */
  async #onReceipt(socket: Socket, state: SocketState, raw: unknown): Promise<void> {
    const receipt = parseDelivery(raw, state.names, this.o.maxPayloadBytes);
    const sender = state.sender;
    if (receipt.kind === 'data') return this.#receiptByData(socket, state, canonicalJson(receipt.data));
    const deliveries: Sized[] = [];
    for (const id of receipt.ids) {
      const sent = sender?.sent.get(id);
      if (sent) {
        sender?.sent.delete(id);
        deliveries.push(sent);
        continue;
      }
      // Acknowledging what it got on an earlier connection (or twice): the message is looked up by id; one that is
      // not pending any more goes to the store as it is, which tells a duplicate from an unknown or expired one.
      const found = await this.o.store.inbox.find(state.token, id);
      const data = found ? (JSON.parse(found.text) as unknown) : null;
      const traceparent = found?.traceparent;
      deliveries.push({ seq: found?.seq ?? 0, id, ts: found?.ts ?? 0, data, size: 0, traceparent });
    }
    await this.#settle(socket, state, deliveries, true);
  }

  /** The seed's receipt: the oldest message sent to this connection with equal data, else the store's lookup. */
  async #receiptByData(socket: Socket, state: SocketState, text: string): Promise<void> {
    const sent = state.sender?.sent;
    for (const d of [...(sent?.values() ?? [])]) {
      if (canonical(d) !== text) continue;
      sent?.delete(d.id);
      const [result] = await this.#settle(socket, state, [d], false);
      if (result?.settled && !result.duplicate) return;
    }
    const who = { token: state.token, nodeId: this.o.nodeId, socketId: socket.id };
    const result = await this.o.store.acks.ackByData(text, who);
    if (!result.settled) this.#refused(result.code);
    this.o.metrics.deliveries.inc();
  }

  /** Settles acknowledged deliveries; `strict`: a refusal is the client's error (its explicit receipt). */
  async #settle(
    socket: Socket,
    state: SocketState,
    deliveries: Sized[],
    strict: boolean,
  ): Promise<AckResult[]> {
    const { store, metrics, nodeId } = this.o;
    const spans = this.o.tracing?.acks(deliveries, socket.id);
    const inputs = deliveries.map((d, i) => ({
      token: state.token,
      seq: d.seq,
      id: d.id,
      data: d.data,
      nodeId,
      socketId: socket.id,
      traceparent: spans?.traceparents[i],
    }));
    const settled = store.acks.ackMany(inputs);
    const results = await metrics.time('ack', spans ? spans.around(settled) : settled);
    let delivered = 0;
    results.forEach((result, i) => {
      if (!result.settled || result.duplicate) return;
      delivered++;
      metrics.ackLatency.observe(Math.max(0, result.deliveredAt - (deliveries[i] as Sized).ts) / 1000);
    });
    if (delivered > 0) metrics.deliveries.inc(delivered);
    const refused = results.find((r) => !r.settled);
    if (strict && refused && !refused.settled) this.#refused(refused.code);
    return results;
  }

  #refused(code: StoreErrorCode): never {
    if (code === StoreErrorCode.ExpiredMessage)
      throw new ClientEventError('expired_message', 'the message expired before it was acknowledged');
    if (code === StoreErrorCode.RateLimited)
      throw new ClientEventError('rate_limited', 'too many receipts by data for this session; slow down');
    throw new ClientEventError('unknown_message', 'no pending message of this session matches the receipt');
  }
}
