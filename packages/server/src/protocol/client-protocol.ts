import {
  StoreErrorCode,
  type AckResult,
  type Logger,
  type PendingMessage,
  type Receipt,
  type SessionStore,
} from '@io-session/store';
import type { Socket } from 'socket.io';
import type { Registration } from '../connections/registration.js';
import type { LocalSessions } from '../connections/local-sessions.js';
import type { OutboxRelay } from '../delivery/relay.js';
import type { RoutedCommand } from '../delivery/router.js';
import type { ClientDataEvent, DeliveredEvent } from '../events.js';
import type { NodeMetrics } from '../metrics.js';
import { parseClientData, parseDelivery } from './client-events.js';
import type { RateLimiter } from './rate-limiter.js';
import { ClientEventError, type SessionErrorCode } from './session-error.js';
import { stateOf, type SocketState } from './socket-state.js';
import { envelope, PUSH_EVENT } from './wire.js';

export interface ClientProtocolOptions {
  store: SessionStore;
  relay: OutboxRelay;
  local: LocalSessions;
  registration: Registration;
  metrics: NodeMetrics;
  logger: Logger;
  nodeId: string;
  maxPayloadBytes: number;
  onDelivered: (event: DeliveredEvent, receipt: Receipt) => void;
  onClientData: (event: ClientDataEvent) => void;
}

/** Rooms every connection joins by protocol, for broadcasts. */
export const ROOM_LEGACY = 'v:1';
export const ROOM_V2 = 'v:2';

/**
 * The wire protocol with one connected client (CONTRACT.md §4): sending pushes (legacy: the data as the seed
 * sends it; v2: `{ id, data, ts }` with an acknowledgement callback), receipts and acknowledgements, `client_data`,
 * rate limits, and `session_error` for every refused event. Nothing a client sends is trusted.
 */
export class ClientProtocol {
  constructor(private readonly o: ClientProtocolOptions) {}

  /** A socket finished its handshake (it is registered): listen to it and send what waits for it. */
  onConnection(socket: Socket): void {
    const state = stateOf(socket);
    state.connected = true;
    socket.on('client_data', (raw: unknown) =>
      this.#guard(socket, state.limiter, () => this.#onClientData(state, raw)),
    );
    socket.on('push_message_delivery', (raw: unknown) =>
      this.#guard(socket, state.ackLimiter, () => this.#onDelivery(socket, state, raw)),
    );
    socket.on('disconnect', () => this.o.registration.release(socket, state));
    if (state.released) return;
    if (state.loggedOut) {
      socket.emit('logout');
      socket.disconnect(true);
      return;
    }
    void socket.join(state.protocol === 2 ? ROOM_V2 : ROOM_LEGACY);
    const sent = new Set<string>();
    for (const message of state.pending) {
      sent.add(message.id);
      this.#send(socket, state, message);
    }
    for (const message of state.buffered ?? []) if (!sent.has(message.id)) this.#send(socket, state, message);
    state.pending = [];
    state.buffered = null;
  }

  /** A routed command for a token this node holds: send the push to its sockets, or log them out. */
  deliver(command: RoutedCommand): void {
    const entry = this.o.local.get(command.token);
    if (!entry) return;
    for (const socket of entry.sockets.values()) {
      const state = stateOf(socket);
      if (command.kind === 'logout') {
        if (!state.connected) {
          state.loggedOut = true;
          continue;
        }
        socket.emit('logout');
        socket.disconnect(true);
      } else if (state.buffered) {
        state.buffered.push(command);
      } else {
        this.#send(socket, state, command);
      }
    }
  }

  /** Runs a client event handler: rate limit, then refuse bad input with `session_error`. */
  #guard(socket: Socket, limiter: RateLimiter, handler: () => Promise<void>): void {
    if (!limiter.take()) {
      this.#sessionError(socket, 'rate_limited', 'too many events; slow down');
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

  async #onDelivery(socket: Socket, state: SocketState, raw: unknown): Promise<void> {
    const delivery = parseDelivery(raw, state.names, this.o.maxPayloadBytes);
    const who = { token: state.token, nodeId: this.o.nodeId, socketId: socket.id };
    const result =
      delivery.kind === 'id'
        ? await this.o.store.acks.ack(delivery.id, who)
        : await this.o.store.acks.ackByData(delivery.data, who);
    this.#settled(result);
  }

  #settled(result: AckResult): void {
    if (!result.settled) {
      if (result.code === StoreErrorCode.ExpiredMessage)
        throw new ClientEventError('expired_message', 'the message expired before it was acknowledged');
      throw new ClientEventError('unknown_message', 'no pending message of this session matches the receipt');
    }
    if (result.duplicate) return;
    const { receipt } = result;
    this.o.metrics.deliveries.inc();
    this.o.metrics.ackLatency.observe(Math.max(0, result.deliveredAt - result.pushedAt) / 1000);
    this.o.relay.enqueue([receipt]);
    const r = receipt.receipt;
    this.o.onDelivered({ token: r.token, data: r.data, id: r.id }, r);
  }

  #send(socket: Socket, state: SocketState, message: PendingMessage): void {
    if (state.protocol === 1) {
      socket.emit(PUSH_EVENT, message.data);
      return;
    }
    socket.emit(PUSH_EVENT, envelope(message), () => {
      this.#guard(socket, state.ackLimiter, async () => {
        const who = { token: state.token, nodeId: this.o.nodeId, socketId: socket.id };
        this.#settled(await this.o.metrics.time('ack', this.o.store.acks.ack(message.id, who)));
      });
    });
  }
}
