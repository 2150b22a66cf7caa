import type { EventItem, Logger, NodeRegistry, SessionStore } from '@io-session/store';
import type { Socket } from 'socket.io';
import type { PushRouter } from '../delivery/router.js';
import type { NodeMetrics } from '../metrics.js';
import type { SocketState } from '../protocol/socket-state.js';
import type { LocalSessions } from './local-sessions.js';

export interface RegistrationOptions {
  store: SessionStore;
  registry: NodeRegistry;
  router: PushRouter;
  local: LocalSessions;
  metrics: NodeMetrics;
  logger: Logger;
  /** Grace a session gets when its last connection goes, in ms. */
  graceMs: number;
  /** Session events the store returned: to the relay and the in-process listeners. */
  publish: (items: EventItem[]) => void;
  /** True once the node is closing: an unregistration that keeps failing is left to the reaper. */
  closing: () => boolean;
}

/**
 * Registering and unregistering connections in Redis. Order matters for crash safety: the router subscription
 * and the node-index entry come before `connect.lua` (a survivor can always find and reap what a dead node
 * registered; no push slips between registration and subscription), and `disconnect.lua` comes before the
 * node-index entry goes. Each registered connection is unregistered exactly once, retried until Redis takes it.
 */
export class Registration {
  /** Unregistrations in flight. */
  readonly #unregistering = new Set<Promise<void>>();

  constructor(private readonly o: RegistrationOptions) {}

  /** Registers the connection. @returns false (after undoing the local part) when Redis failed. */
  async register(socket: Socket, state: SocketState): Promise<boolean> {
    const { local, router, registry, store, metrics } = this.o;
    const entry = local.acquire(state.token, socket);
    try {
      await router.join(state.token);
      entry.tracked ??= registry.track(state.token).catch((err: unknown) => {
        entry.tracked = undefined;
        throw err;
      });
      await entry.tracked;
      const result = await metrics.time(
        'connect',
        store.sessions.connect({
          token: state.token,
          socketId: socket.id,
          instance: registry.instance,
          protocol: state.protocol,
        }),
      );
      metrics.connects.inc();
      entry.data = result.data;
      state.pending = result.pending;
      this.o.publish(result.events);
      return true;
    } catch (err) {
      this.o.logger.warn({ err, token: state.token }, 'could not register a connection; refusing it');
      entry.sockets.delete(socket.id);
      router.leave(state.token);
      local.release(state.token, entry);
      return false;
    }
  }

  /** Unregisters a registered connection, once. */
  release(socket: Socket, state: SocketState): void {
    if (state.released) return;
    state.released = true;
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
    const { local, router, store, metrics } = this.o;
    const entry = local.get(state.token);
    entry?.sockets.delete(socket.id);
    router.leave(state.token);
    for (let attempt = 0; ; attempt++) {
      try {
        const input = { token: state.token, socketId: socket.id, graceMs: this.o.graceMs };
        await metrics.time('disconnect', store.sessions.disconnect(input));
        metrics.disconnects.inc();
        break;
      } catch (err) {
        if (this.o.closing() && attempt > 3) {
          this.o.logger.warn(
            { err, token: state.token },
            'giving up unregistering a connection; the reaper will',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2000)));
      }
    }
    if (entry && local.release(state.token, entry)) {
      await this.o.registry.untrack(state.token).catch(() => undefined);
    }
  }
}
