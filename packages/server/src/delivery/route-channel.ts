import { BackgroundLoop, isCluster, type Keys, type Logger, type RedisClient } from '@io-session/store';

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

/** What a node publishes on its own channel to learn whether Redis still delivers the channel to it. */
const PROBE = '{"probe":1}';
const PROBE_BYTES = Buffer.from(PROBE);

/** Whether a message of a route channel is a probe (which carries no push: not fan-out cost). */
export function isProbe(message: Buffer | string): boolean {
  return typeof message === 'string' ? message === PROBE : message.equals(PROBE_BYTES);
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
  /** How often the node checks that its own channel still reaches it, in ms. */
  probeMs: number;
  /** The probe went unheard: the node subscribes its channel again (for a metric). */
  onResubscribe?: () => void;
  onError?: (error: unknown) => void;
}

/**
 * A node's inbox for pushes routed to it: one Redis sharded pub/sub channel per node instance (ioredis's public
 * API; on a Cluster its sharded subscribers follow the topology), hash-tagged by instance so that the nodes'
 * channels spread over the shards. A batch of pushes costs one SPUBLISH per target node, not one per message.
 * Nothing here must be reliable: a push that never arrives is found by the holder's resync (holding.ts). But a
 * channel must not stay lost: when its slot moves to another primary (a Cluster growing, a reshard), Redis drops
 * its subscriptions there with an unsolicited SUNSUBSCRIBE, which ioredis 5 does not act on. So the node probes its
 * own channel (`probe`) and subscribes again where the slot lives now.
 */
export class RouteChannel {
  #channel: string;
  readonly #listener: (channel: Buffer | string, message: Buffer | string) => void;
  readonly #prober: BackgroundLoop;

  constructor(private readonly o: RouteChannelOptions) {
    this.#channel = o.keys.routeChannel(o.instance());
    this.#listener = (channel, message) => {
      if (String(channel) !== this.#channel) return;
      const text = String(message);
      if (text === PROBE) return;
      try {
        o.onPacket(JSON.parse(text) as RoutePacket);
      } catch (err) {
        o.logger.warn({ err }, 'a routed packet could not be read; the resync will find its pushes');
      }
    };
    o.sub.on('smessageBuffer', this.#listener);
    this.#prober = new BackgroundLoop(
      { name: 'route-probe', intervalMs: o.probeMs, logger: o.logger, onError: o.onError },
      () => this.probe().then(() => undefined),
    );
  }

  /** Subscribes this node's channel, and starts checking that it stays subscribed. */
  async listen(): Promise<void> {
    const channel = this.o.keys.routeChannel(this.o.instance());
    const previous = this.#channel;
    this.#channel = channel;
    const sub = this.o.sub as unknown as ShardedPubSub;
    await sub.ssubscribe(channel);
    // After a fencing the old instance's channel is nobody's: what was routed to it is found by the resync.
    if (previous !== channel) await sub.sunsubscribe(previous);
    this.#prober.start();
  }

  /**
   * Publishes a probe on this node's own channel; when no subscriber heard it, the subscription was lost (its slot
   * moved): the subscriber client refreshes its slot map — its sharded subscribers follow it and subscribe every
   * channel again where its slot lives now, the adapter's included — and this channel is subscribed again
   * explicitly (the map may already have been current when the old owner dropped the subscription).
   * @returns whether the probe was heard
   */
  async probe(): Promise<boolean> {
    const pub = this.o.pub as unknown as ShardedPubSub;
    if ((await pub.spublish(this.#channel, PROBE)) > 0) return true;
    this.o.onResubscribe?.();
    this.o.logger.warn({ channel: this.#channel }, 'route channel lost (its slot moved?): subscribing again');
    const { sub } = this.o;
    if (isCluster(sub)) await new Promise<void>((resolve) => sub.refreshSlotsCache(() => resolve()));
    const sharded = sub as unknown as ShardedPubSub;
    // Bounded: ioredis leaves a command that met MOVED unanswered (it refreshes its slots and subscribes again).
    const settle = <T>(work: Promise<T>): Promise<unknown> =>
      Promise.race([work, new Promise((resolve) => setTimeout(resolve, this.o.probeMs).unref())]);
    await settle(sharded.sunsubscribe(this.#channel)).catch(() => undefined);
    await settle(sharded.ssubscribe(this.#channel));
    return false;
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

  async close(): Promise<void> {
    await this.#prober.stop();
    this.o.sub.off('smessageBuffer', this.#listener);
  }
}
