import type { EventItem, Logger, NodeRegistry, SessionStore } from '@io-session/store';
import type { Socket } from 'socket.io';
import type { Holding } from '../delivery/holding.js';
import type { NodeMetrics } from '../metrics.js';
import type { Sender } from '../protocol/sender.js';
import type { SocketState } from '../protocol/socket-state.js';
import type { LocalSessions } from './local-sessions.js';

export interface RegistrationOptions {
  store: SessionStore;
  registry: NodeRegistry;
  local: LocalSessions;
  holding: Holding;
  metrics: NodeMetrics;
  logger: Logger;
  /** Grace a session gets when its last connection goes, in ms. */
  graceMs: number;
  /** The sender of a new connection (made before it registers: pushes routed meanwhile wait in it). */
  makeSender: (socket: Socket, state: SocketState) => Sender;
  /** Session events the store returned: to the relay and the in-process listeners. */
  publish: (items: EventItem[]) => void;
  /** True once the node is closing: an unregistration that keeps failing is left to the reaper. */
  closing: () => boolean;
}

/**
 * Registering and unregistering connections in Redis: one connect.lua call per handshake, which also writes the
 * node index a survivor reaps by and the route entry pushes find this node by — so a registered connection is
 * always reachable and always reapable. Each registration is undone exactly once (disconnect.lua, retried until
 * Redis takes it; a failed or unanswered registration is undone too, since it may have run).
 */
export class Registration {
  /** Unregistrations in flight. */
  readonly #unregistering = new Set<Promise<void>>();
  /** Unregistrations given up while closing (the node then asks to be reaped). */
  #abandoned = 0;

  constructor(private readonly o: RegistrationOptions) {}

  get abandoned(): number {
    return this.#abandoned;
  }

  /** Registers the connection. @returns false when Redis failed (the registration is being undone). */
  async register(socket: Socket, state: SocketState): Promise<boolean> {
    const { local, registry, store, metrics } = this.o;
    const entry = local.acquire(state.token, socket);
    state.sender = this.o.makeSender(socket, state);
    const { instance } = registry;
    try {
      const result = await metrics.time(
        'connect',
        store.sessions.connect({
          token: state.token,
          socketId: socket.id,
          instance,
          protocol: state.protocol,
        }),
      );
      metrics.connects.inc();
      // Registered under an instance id the node has since left (it was fenced meanwhile): undo, the client retries.
      if (registry.instance !== instance) {
        this.o.publish(result.events);
        throw new Error('this node was fenced during the registration');
      }
      entry.data = result.data;
      state.sid = result.sid;
      // A routed logout of this lifetime may have overtaken the registration's answer.
      if (entry.ended.has(result.sid)) state.loggedOut = true;
      state.first = { seq: result.seq, pending: result.pending, next: result.next };
      state.sender.expect(result.seq);
      this.o.holding.registered(entry, result.sid, result.seq);
      this.o.publish(result.events);
      return true;
    } catch (err) {
      this.o.logger.warn({ err, token: state.token }, 'could not register a connection; refusing it');
      // It may have run (a lost reply): undone, and the events it appended are published then.
      state.unanswered = true;
      this.release(socket, state);
      return false;
    }
  }

  /** Unregisters a connection, once (also one whose registration failed: it may have run). */
  release(socket: Socket, state: SocketState): void {
    if (state.released) return;
    state.released = true;
    state.sender?.close();
    const work = this.#unregister(socket, state);
    this.#unregistering.add(work);
    void work
      .catch((err: unknown) => this.o.logger.warn({ err }, 'unregistering a connection failed'))
      .finally(() => this.#unregistering.delete(work));
  }

  /** Resolves once every unregistration started so far is done. */
  async settled(): Promise<void> {
    while (this.#unregistering.size > 0) await Promise.all(this.#unregistering);
  }

  async #unregister(socket: Socket, state: SocketState): Promise<void> {
    const { local, store, metrics } = this.o;
    const entry = local.get(state.token);
    entry?.sockets.delete(socket.id);
    for (let attempt = 0; ; attempt++) {
      try {
        const input = { token: state.token, socketId: socket.id, graceMs: this.o.graceMs };
        if (state.unanswered) this.o.publish(await store.sessions.undoConnect(input));
        else await metrics.time('disconnect', store.sessions.disconnect(input));
        metrics.disconnects.inc();
        break;
      } catch (err) {
        if (this.o.closing() && attempt > 3) {
          this.#abandoned += 1;
          this.o.logger.warn(
            { err, token: state.token },
            'giving up unregistering a connection; a survivor will reap it',
          );
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2000)));
      }
    }
    if (entry) local.release(state.token, entry);
  }
}
