import type { Keys, Logger, RedisClient } from '@io-session/store';

/** What travels between nodes: a push to deliver, or a logout to carry out, for the sockets of one token. */
export type RoutedCommand =
  { kind: 'push'; token: string; id: string; data: unknown; ts: number } | { kind: 'logout'; token: string };

export interface PushRouterOptions {
  /** Publishes (a command connection). */
  pub: RedisClient;
  /** Subscribes (a connection in sharded-subscriber mode; shared with the Socket.IO adapter). */
  sub: RedisClient;
  keys: Keys;
  logger: Logger;
  /** Called on every node holding sockets of the token (this one included), in the channel's order. */
  onCommand: (command: RoutedCommand) => void;
}

interface Subscribable {
  ssubscribe(...channels: string[]): Promise<unknown>;
  sunsubscribe(...channels: string[]): Promise<unknown>;
  spublish(channel: string, message: string): Promise<number>;
}

/**
 * Routes node-level commands to the nodes that hold a token's sockets, over Redis sharded pub/sub (ioredis's
 * public API; on a Cluster its sharded subscribers follow the topology). Each node subscribes, per token it holds,
 * to the token's own channel, kept in the slot of the token's bucket. A command is one SPUBLISH on that channel
 * and reaches only the nodes subscribed to it. Every holder, the publishing node included, takes commands from
 * the channel: one channel, one order, so pushes reach clients in publish order.
 */
export class PushRouter {
  /** Per token: sockets of it on this node, and the subscription (resolves once active). */
  readonly #held = new Map<string, { refs: number; subscribed: Promise<unknown> }>();
  readonly #listener: (channel: Buffer | string, message: Buffer | string) => void;

  constructor(private readonly options: PushRouterOptions) {
    this.#listener = (channel, message) => this.#onMessage(String(channel), String(message));
    options.sub.on('smessageBuffer', this.#listener);
  }

  channel(token: string): string {
    return `${this.options.keys.session(token).tag}:r:${token}`;
  }

  /** Marks this node as a holder of `token` (once more); resolves when routing to it works. */
  async join(token: string): Promise<void> {
    let held = this.#held.get(token);
    if (!held) {
      const subscribed = (this.options.sub as unknown as Subscribable).ssubscribe(this.channel(token));
      held = { refs: 0, subscribed };
      this.#held.set(token, held);
      subscribed.catch(() => {
        if (this.#held.get(token) === held) this.#held.delete(token);
      });
    }
    held.refs += 1;
    await held.subscribed;
  }

  /** One socket of `token` fewer on this node; the last one unsubscribes. */
  leave(token: string): void {
    const held = this.#held.get(token);
    if (!held) return;
    held.refs -= 1;
    if (held.refs > 0) return;
    this.#held.delete(token);
    (this.options.sub as unknown as Subscribable).sunsubscribe(this.channel(token)).catch((err: unknown) => {
      this.options.logger.debug({ err, token }, 'sunsubscribe failed');
    });
  }

  /**
   * Sends a command to every node holding sockets of its token, this node included, and resolves once Redis
   * has taken it: a push published after this resolves reaches every holder after this one.
   */
  async send(command: RoutedCommand): Promise<void> {
    await (this.options.pub as unknown as Subscribable).spublish(
      this.channel(command.token),
      JSON.stringify(command),
    );
  }

  /** Stops listening (the subscriptions go with the subscriber connection). */
  close(): void {
    this.options.sub.off('smessageBuffer', this.#listener);
    this.#held.clear();
  }

  #onMessage(channel: string, message: string): void {
    if (!channel.includes(':r:')) return;
    let command: RoutedCommand;
    try {
      command = JSON.parse(message) as RoutedCommand;
    } catch {
      return;
    }
    if (this.#held.has(command.token) && channel === this.channel(command.token))
      this.options.onCommand(command);
  }
}
