import type { Namespace, Server } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';

/** What travels between nodes: a push to deliver, or a logout to carry out, for the sockets of one token. */
export type RoutedCommand =
  { kind: 'push'; token: string; id: string; data: unknown; ts: number } | { kind: 'logout'; token: string };

export interface PushRouterOptions {
  /** Called on every node holding sockets of the token (this one included). */
  onCommand: (command: RoutedCommand) => void;
  /**
   * Resolves once this node's subscription to a room's channel is active, so that a connection is never
   * registered in Redis before this node can hear about pushes to it.
   */
  awaitSubscribed?: (channel: string) => Promise<unknown>;
}

/** Private namespace whose rooms stand for "this node holds sockets of token T". No client may join it. */
export const ROUTER_NAMESPACE = '/io-session-router';

type RouterAdapter = Adapter & {
  uid?: string;
  onMessage?: (message: ClusterMessage, offset?: string) => unknown;
};

interface ClusterMessage {
  uid: string;
  nsp: string;
  type: number;
  data?: { requestId?: number; packet?: { data?: unknown[] }; opts?: unknown };
}

/** socket.io-adapter MessageType.BROADCAST */
const BROADCAST = 3;
/** socket.io-parser PacketType.EVENT */
const EVENT = 2;

/**
 * Routes node-level commands to the nodes that hold a token's sockets, through the Socket.IO sharded Redis
 * adapter. Each node joins, in a private namespace, one room per token it holds; a command is a broadcast to
 * that room, so it travels on the room's own sharded channel (SPUBLISH) and only reaches the nodes
 * subscribed to it. The receiving node runs the command itself — it sends the push to its own sockets and
 * handles their acknowledgements locally — instead of the adapter writing a packet to clients. Every holder,
 * the publishing node included, takes commands from the channel: pushes reach clients in publish order.
 */
export class PushRouter {
  readonly #nsp: Namespace;
  readonly #adapter: RouterAdapter;
  /** Per room: resolves once this node's subscription to the room's channel is active. */
  readonly #subscribing = new Map<string, Promise<unknown>>();

  constructor(
    io: Server,
    private readonly options: PushRouterOptions,
  ) {
    this.#nsp = io.of(ROUTER_NAMESPACE);
    this.#nsp.use((_socket, next) => next(new Error('forbidden')));
    this.#adapter = this.#nsp.adapter as RouterAdapter;
    const original = this.#adapter.onMessage?.bind(this.#adapter);
    if (!original) throw new Error('io-session needs a cluster adapter (the sharded Redis adapter)');
    this.#adapter.onMessage = (message, offset) => {
      const packet = message.data?.packet?.data;
      // Own messages too: a node takes even the pushes it published itself from the channel, so that the
      // channel's order (one Redis connection, one channel) is the order every push is sent to clients.
      if (
        message.type === BROADCAST &&
        message.nsp === ROUTER_NAMESPACE &&
        message.data?.requestId === undefined &&
        Array.isArray(packet) &&
        packet[0] === 'cmd'
      ) {
        this.options.onCommand(packet[1] as RoutedCommand);
        return;
      }
      return original(message, offset);
    };
  }

  static room(token: string): string {
    return `t:${token}`;
  }

  /** The sharded adapter's channel for a room of the router namespace. */
  static channel(token: string, channelPrefix = 'socket.io'): string {
    return `${channelPrefix}#${ROUTER_NAMESPACE}#${PushRouter.room(token)}#`;
  }

  /** Marks this node as a holder of `token` for socket `socketId`; resolves when routing to it works. */
  async join(token: string, socketId: string): Promise<void> {
    const room = PushRouter.room(token);
    if (!this.#adapter.rooms.has(room) && this.options.awaitSubscribed) {
      // Same connection, so this resolves after the adapter's own SSUBSCRIBE for the new room.
      const subscribed = Promise.resolve()
        .then(() => this.options.awaitSubscribed?.(PushRouter.channel(token)))
        .catch(() => this.#subscribing.delete(room));
      this.#subscribing.set(room, subscribed);
    }
    await this.#adapter.addAll(socketId, new Set([room]));
    await this.#subscribing.get(room);
  }

  leave(token: string, socketId: string): void {
    const room = PushRouter.room(token);
    void this.#adapter.del(socketId, room);
    if (!this.#adapter.rooms.has(room)) this.#subscribing.delete(room);
  }

  /**
   * Sends a command to every node holding sockets of its token, this node included, and resolves once Redis
   * has taken it: a push published after this resolves reaches every holder after this one.
   */
  async send(command: RoutedCommand): Promise<void> {
    const packet = { type: EVENT, data: ['cmd', command], nsp: ROUTER_NAMESPACE };
    const rooms = new Set([PushRouter.room(command.token)]);
    await this.#adapter.broadcast(packet as never, { rooms, except: new Set() });
  }
}
