import type { Socket } from 'socket.io';
import type { Delivery } from '../delivery/route-channel.js';
import type { AckDeadlines, AwaitsAcks } from './ack-deadlines.js';
import { BATCH_EVENT, PUSH_EVENT } from './wire.js';

export interface SenderOptions {
  socket: Socket;
  /** 1 legacy (the data, no acknowledgement), 2 one `push_message` with a callback each, 3 `push_batch` frames. */
  protocol: 1 | 2 | 3;
  /** Bytes a connection may have unsent before it counts as a slow client (MAX_BUFFERED_BYTES). */
  maxBufferedBytes: number;
  /** How long an acknowledgement is waited for; a v3 frame not acknowledged by then closes the connection. */
  ackTimeoutMs: number;
  /** The node's sweep of acknowledgement deadlines. */
  deadlines: AckDeadlines;
  /** Most messages and bytes one v3 frame carries. */
  frameMessages: number;
  frameBytes: number;
  /** Legacy receipts name a message by its data: how many sent messages are remembered to match them. */
  remember: number;
  /** The client acknowledged these deliveries (v2 callback, v3 frame). */
  onAck: (deliveries: Sized[]) => void;
  /** The connection has more unsent than `maxBufferedBytes`, or left a frame unacknowledged: drop it. */
  onStalled: (reason: 'slow_client' | 'ack_timeout') => void;
  /** A delivery of a traced push went out (tracing on): for its span. */
  onTraced?: ((d: Sized) => void) | undefined;
}

/** A delivery and its size on the wire (its data's JSON text length). */
export type Sized = Delivery & { size: number };

/**
 * What one connection is sent, in order, exactly once per connection: the node's side of the wire protocol
 * (CONTRACT.md §4 and protocol v3). v3 is flow-controlled — at most one unacknowledged frame, and what arrives
 * meanwhile goes in the next one — so frames grow under load and an idle push goes out at once, alone. Every
 * connection's unsent bytes are bounded (engine.io's `packetCreate` / `drain`).
 */
export class Sender implements AwaitsAcks {
  /** Highest seq handed to this connection. */
  hw = 0;
  readonly #queue: Sized[] = [];
  /** Pushes up to the registration's seq come from the inbox replay; undefined until the registration answered. */
  #floor: number | undefined;
  /** Until the replay is done, routed pushes wait here (they must follow the older pending ones). */
  #replaying = true;
  readonly #parked: Sized[] = [];
  #lowWaiters: (() => void)[] = [];
  #frame: Sized[] | undefined;
  #frameAt = 0;
  /** v2: when each message still unacknowledged was sent (insertion order: oldest first). */
  readonly #sentAt = new Map<string, number>();
  #started = false;
  #closed = false;
  /** Bytes handed to engine.io and not yet flushed, and bytes queued here (v3 frames not yet sent). */
  #unsent = 0;
  #queued = 0;
  /** What was sent and not acknowledged (v2, v3), or sent (legacy, the last `remember`): id → delivery. */
  readonly sent = new Map<string, Sized>();

  constructor(private readonly o: SenderOptions) {
    const conn = o.socket.conn;
    conn.on('packetCreate', (packet: { data?: unknown }) => {
      if (typeof packet.data === 'string') this.#unsent += packet.data.length;
      if (this.#unsent > o.maxBufferedBytes && !this.#closed) this.#stall('slow_client');
    });
    conn.on('drain', () => {
      this.#unsent = 0;
      this.#checkLow();
    });
  }

  /**
   * A push routed to this connection's session (in seq order). Pushes up to the registration's seq are the inbox
   * replay's to send; later ones wait until the replay is done; one not above `hw` is a duplicate.
   */
  offer(d: Sized): void {
    if (this.#closed) return;
    if (this.#floor === undefined || this.#replaying) {
      if (this.#floor === undefined || d.seq > this.#floor) this.#parked.push(d);
      return;
    }
    if (d.seq > this.#floor) this.#enqueue(d);
  }

  /** The registration answered: the inbox up to `seq` comes through the replay. */
  expect(seq: number): void {
    this.#floor = seq;
  }

  /** A message of the inbox replay (seq ≤ the registration's). */
  replayed(d: Sized): void {
    if (!this.#closed) this.#enqueue(d);
  }

  /** The replay is done: the pushes that waited follow, in order. */
  endReplay(): void {
    this.#replaying = false;
    const floor = this.#floor ?? 0;
    for (const d of this.#parked.splice(0).sort((a, b) => a.seq - b.seq)) if (d.seq > floor) this.#enqueue(d);
  }

  #enqueue(d: Sized): void {
    if (d.seq <= this.hw) return;
    this.hw = d.seq;
    this.#queue.push(d);
    this.#queued += d.size;
    if (this.#queued + this.#unsent > this.o.maxBufferedBytes) return this.#stall('slow_client');
    if (this.#started) this.#pump();
  }

  /** Resolves once little is queued or unsent (for the replay to fetch its next page). */
  whenLow(): Promise<void> {
    if (this.#low()) return Promise.resolve();
    return new Promise((resolve) => this.#lowWaiters.push(resolve));
  }

  #low(): boolean {
    return this.#closed || (this.backlog < this.o.frameMessages && this.#unsent === 0);
  }

  #checkLow(): void {
    if (this.#lowWaiters.length === 0 || !this.#low()) return;
    for (const resolve of this.#lowWaiters.splice(0)) resolve();
  }

  /** The connection is up: send what waits. */
  start(): void {
    this.#started = true;
    this.#pump();
  }

  close(): void {
    this.#closed = true;
    this.o.deadlines.forget(this);
    this.#queue.length = 0;
    this.#parked.length = 0;
    this.#checkLow();
  }

  /** Messages queued or in flight (for the replay: fetch the next page when this is low). */
  get backlog(): number {
    return this.#queue.length + (this.#frame?.length ?? 0);
  }

  #stall(reason: 'slow_client' | 'ack_timeout'): void {
    this.close();
    this.o.onStalled(reason);
  }

  #pump(): void {
    if (this.#closed) return;
    if (this.o.protocol === 3) {
      if (!this.#frame && this.#queue.length > 0) this.#sendFrame();
      return;
    }
    this.#queued = 0;
    for (const d of this.#queue.splice(0)) {
      if (this.o.protocol === 1) this.#sendLegacy(d);
      else this.#sendV2(d);
    }
  }

  #sendLegacy(d: Sized): void {
    this.sent.set(d.id, d);
    if (this.sent.size > this.o.remember) this.sent.delete(this.sent.keys().next().value as string);
    if (d.traceparent !== undefined) this.o.onTraced?.(d);
    this.o.socket.emit(PUSH_EVENT, d.data);
  }

  #sendV2(d: Sized): void {
    this.sent.set(d.id, d);
    if (this.#sentAt.size === 0) this.o.deadlines.watch(this);
    this.#sentAt.set(d.id, Date.now());
    if (d.traceparent !== undefined) this.o.onTraced?.(d);
    this.o.socket.emit(PUSH_EVENT, { id: d.id, data: d.data, ts: d.ts }, () => {
      // A message acknowledged after its deadline was forgotten: it stays pending and comes again later.
      this.#sentAt.delete(d.id);
      if (!this.sent.delete(d.id)) return;
      this.o.onAck([d]);
      this.#checkLow();
    });
  }

  /**
   * The deadline sweep: a v3 frame unacknowledged past `ackTimeoutMs` stalls the connection; a v2 message is
   * forgotten (it stays pending and comes again on the next connection).
   */
  expire(now: number): boolean {
    if (this.#closed) return false;
    const cutoff = now - this.o.ackTimeoutMs;
    if (this.#frame && this.#frameAt <= cutoff) {
      this.#stall('ack_timeout');
      return false;
    }
    for (const [id, at] of this.#sentAt) {
      if (at > cutoff) break;
      this.#sentAt.delete(id);
      this.sent.delete(id);
    }
    return this.#frame !== undefined || this.#sentAt.size > 0;
  }

  #sendFrame(): void {
    let count = 0;
    let bytes = 0;
    while (count < this.#queue.length && count < this.o.frameMessages) {
      const next = this.#queue[count] as Sized;
      if (count > 0 && bytes + next.size > this.o.frameBytes) break;
      bytes += next.size;
      count++;
    }
    const frame = this.#queue.splice(0, count);
    this.#queued -= bytes;
    this.#frame = frame;
    this.#frameAt = Date.now();
    this.o.deadlines.watch(this);
    for (const d of frame) {
      this.sent.set(d.id, d);
      if (d.traceparent !== undefined) this.o.onTraced?.(d);
    }
    const payload = frame.map((d) => ({ id: d.id, data: d.data, ts: d.ts }));
    this.o.socket.emit(BATCH_EVENT, payload, (answer: unknown) => {
      if (this.#frame !== frame || this.#closed) return;
      this.#frame = undefined;
      const acked = acknowledged(frame, answer);
      for (const d of acked) this.sent.delete(d.id);
      if (acked.length > 0) this.o.onAck(acked);
      this.#pump();
      this.#checkLow();
    });
  }
}

/** The messages a v3 frame acknowledgement settles: every one (no argument), or those named by `{ ids }`. */
function acknowledged(frame: Sized[], answer: unknown): Sized[] {
  if (answer === undefined || answer === null) return frame;
  const ids = (answer as { ids?: unknown }).ids;
  if (!Array.isArray(ids) || ids.length > frame.length) return [];
  const wanted = new Set(ids.filter((id): id is string => typeof id === 'string'));
  return frame.filter((d) => wanted.has(d.id));
}
