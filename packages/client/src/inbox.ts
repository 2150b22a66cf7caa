import { RecentIds } from './dedupe.js';
import type { ClientError, PushHandler, PushMeta } from './events.js';
import { envelopeOf, frameOf, type AckCallback, type Envelope } from './wire.js';

/** Where a push or a frame came from: the connection (epoch) it arrived on and its acknowledgement callback. */
export interface Arrival {
  epoch: number;
  ack: AckCallback | undefined;
}

/** What the inbox needs from its client. */
export interface InboxLink {
  /** The client is closed: nothing more is handled or acknowledged. */
  closed(): boolean;
  /** Epoch of the connection that is up; undefined while there is none. */
  epoch(): number | undefined;
  /** Settles messages by id on the connection that is up (`push_message_delivery`). */
  settle(payload: { id: string } | { ids: string[] }): void;
  error(error: ClientError): void;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The client's receiving side: handlers run one message at a time in arrival order; a message handled before
 * is acknowledged again without calling them; an acknowledgement goes out only once every handler is done.
 */
export class Inbox {
  readonly #handlers = new Set<PushHandler>();
  readonly #handled: RecentIds;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly link: InboxLink,
    dedupeWindow: number,
  ) {
    this.#handled = new RecentIds(dedupeWindow);
  }

  add(handler: PushHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  clear(): void {
    this.#handlers.clear();
  }

  /** Protocol v2: one `push_message`, acknowledged by its callback once handled. */
  push(payload: unknown, arrival: Arrival): void {
    this.#queue = this.#queue.then(() => this.#deliverOne(payload, arrival));
  }

  /** Protocol v3: one `push_batch` frame, acknowledged once, after its last message. */
  frame(payload: unknown, arrival: Arrival): void {
    this.#queue = this.#queue.then(() => this.#deliverFrame(payload, arrival));
  }

  async #deliverOne(payload: unknown, arrival: Arrival): Promise<void> {
    if (this.link.closed()) return;
    const message = envelopeOf(payload);
    if (!message) {
      this.#malformed('push_message is not a protocol v2 envelope { id, data, ts }');
      return;
    }
    if (!(await this.#handle(message, arrival.ack === undefined))) return;
    this.#acknowledge(arrival, () => arrival.ack?.(), { id: message.id });
  }

  async #deliverFrame(payload: unknown, arrival: Arrival): Promise<void> {
    if (this.link.closed()) return;
    const frame = frameOf(payload);
    if (frame.malformed > 0) {
      this.#malformed(
        `push_batch carried ${frame.malformed} element(s) that are not protocol v3 envelopes { id, data, ts }`,
      );
    }
    const handled: string[] = [];
    for (const message of frame.messages) {
      if (this.link.closed()) return;
      if (await this.#handle(message, arrival.ack === undefined)) handled.push(message.id);
    }
    // One acknowledgement per frame, even when nothing was handled: the server sends the next frame of the
    // connection only after it. Messages left out stay pending and come again on the next connection.
    const all = frame.malformed === 0 && handled.length === frame.messages.length;
    this.#acknowledge(arrival, () => (all ? arrival.ack?.() : arrival.ack?.({ ids: handled })), {
      ids: handled,
    });
  }

  /** Runs the handlers for one message; true when it may be acknowledged. */
  async #handle(message: Envelope, broadcast: boolean): Promise<boolean> {
    if (this.#handled.has(message.id)) return true;
    if (this.#handlers.size === 0) return false;
    const meta: PushMeta = { id: message.id, ts: message.ts, broadcast };
    try {
      for (const handler of [...this.#handlers]) await handler(message.data, meta);
    } catch (cause) {
      this.link.error({
        code: 'handler_error',
        message: `the push handler failed; message ${message.id} stays pending: ${messageOf(cause)}`,
        source: 'client',
        id: message.id,
        cause,
      });
      return false;
    }
    this.#handled.add(message.id);
    return true;
  }

  /**
   * The acknowledgement callback is only valid on the connection the push came with (a stale callback could
   * settle whatever the new connection numbered alike). On a later connection the receipt goes by id; while
   * disconnected there is nothing to do: the server sends the messages again, and they are acknowledged then.
   */
  #acknowledge(arrival: Arrival, callback: () => void, byId: { id: string } | { ids: string[] }): void {
    const epoch = this.link.epoch();
    if (!arrival.ack || this.link.closed() || epoch === undefined) return;
    if (arrival.epoch === epoch) callback();
    else if (!('ids' in byId) || byId.ids.length > 0) this.link.settle(byId);
  }

  #malformed(message: string): void {
    this.link.error({ code: 'malformed_push', message, source: 'client' });
  }
}
