import type { Keys, Logger, RedisClient } from '@io-session/store';

/** A stored push as a node delivers it: its number in the session, id, store time and data. */
export interface Delivery {
  seq: number;
  id: string;
  ts: number;
  data: unknown;
  /** The W3C traceparent of its push, when it was traced. */
  traceparent?: string | undefined;
}

/**
 * Pushes routed to a node, in store order, as received: [token, seq, id, ts, data, size of the data's JSON], and the
 * push's traceparent when it was traced.
 */
export type RoutedPush = [
  token: string,
  seq: number,
  id: string,
  ts: number,
  data: unknown,
  size: number,
  traceparent?: string,
];

/** What travels between nodes on a node's channel: pushes, or a logout of one session lifetime. */
export type RoutePacket = { p: RoutedPush[] } | { logout: { token: string; sid: string } };

/** A push to route: its data is already canonical JSON text, embedded as it is (no second encoding). */
export interface OutgoingPush {
  token: string;
  seq: number;
  id: string;
  ts: number;
  text: string;
  traceparent?: string | undefined;
}

/** The JSON text of a packet of pushes, the stored data texts embedded verbatim. */
export function pushPacket(pushes: readonly OutgoingPush[]): string {
  const items = pushes.map(
    (m) =>
      `[${JSON.stringify(m.token)},${m.seq},${JSON.stringify(m.id)},${m.ts},${m.text},${m.text.length}${m.traceparent ? `,"${m.traceparent}"` : ''}]`,
  );
  return `{"p":[${items.join(',')}]}`;
}

interface ShardedPubSub {
  ssubscribe(...channels: string[]): Promise<unknown>;
  sunsubscribe(...channels: string[]): Promise<unknown>;
  spublish(channel: string, message: string): Promise<number>;
}

export interface RouteChannelOptions {
  pub: RedisClient;
  sub: RedisClient;
  keys: Keys;
  /** This node instance (it changes when the node was fenced): it listens on its own channel. */
  instance: () => string;
  logger: Logger;
  onPacket: (packet: RoutePacket) => void;
  /** A publish that reached no subscriber (the target is gone, or its subscription is being re-established). */
  onUnheard?: (instance: string) => void;
}

/**
 * A node's inbox for pushes routed to it: one Redis sharded pub/sub channel per node instance (ioredis's public
 * API; on a Cluster its sharded subscribers follow the topology), hash-tagged by instance so that the nodes'
 * channels spread over the shards. A batch of pushes costs one SPUBLISH per target node, not one per message.
 * Nothing here must be reliable: a push that never arrives is found by the holder's resync (holding.ts).
 */
export class RouteChannel {
  #channel: string;
  readonly #listener: (channel: Buffer | string, message: Buffer | string) => void;

  constructor(private readonly o: RouteChannelOptions) {
    this.#channel = o.keys.routeChannel(o.instance());
    this.#listener = (channel, message) => {
      if (String(channel) !== this.#channel) return;
      try {
        o.onPacket(JSON.parse(String(message)) as RoutePacket);
      } catch (err) {
        o.logger.warn({ err }, 'a routed packet could not be read; the resync will find its pushes');
      }
    };
    o.sub.on('smessageBuffer', this.#listener);
  }

  /** Subscribes this node's channel (again: idempotent, so it can be called after any topology change). */
  async listen(): Promise<void> {
    const channel = this.o.keys.routeChannel(this.o.instance());
    const previous = this.#channel;
    this.#channel = channel;
    const sub = this.o.sub as unknown as ShardedPubSub;
    await sub.ssubscribe(channel);
    // After a fencing the old instance's channel is nobody's: what was routed to it is found by the resync.
    if (previous !== channel) await sub.sunsubscribe(previous);
  }

  /**
   * Sends a packet (its JSON text) to a node instance; resolves once Redis has taken it, so that a packet sent
   * after this resolved arrives after it.
   */
  async send(instance: string, packet: string): Promise<void> {
    const heard = await (this.o.pub as unknown as ShardedPubSub).spublish(
      this.o.keys.routeChannel(instance),
      packet,
    );
    if (heard === 0) this.o.onUnheard?.(instance);
  }

  close(): void {
    this.o.sub.off('smessageBuffer', this.#listener);
  }
}
