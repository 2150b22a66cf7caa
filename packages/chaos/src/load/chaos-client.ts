import { io, type Socket } from 'socket.io-client';
import type { NodeSlot } from '../cluster/node-slot.js';
import type { History } from '../history.js';
import type { Random } from '../random.js';

/** How a client treats the pushes it gets. */
export type ClientKind = 'prompt' | 'slow' | 'silent';

export interface ClientSettings {
  history: History;
  random: Random;
  /** A node to connect to (a healthy one if any), or none now. */
  pickNode: () => NodeSlot | undefined;
  slowAckMs: readonly [number, number];
}

interface PushFrame {
  id: string;
  data: unknown;
  ts: number;
}

/**
 * One session's client, a protocol-2 Socket.IO client (acknowledgement callbacks). It reconnects by itself, to a
 * node the run picks, after whatever ended its connection, until it leaves for good.
 */
export class ChaosClient {
  #socket: Socket | undefined;
  #present = true;
  #retry: NodeJS.Timeout | undefined;
  sessionErrors = 0;

  constructor(
    readonly token: string,
    readonly kind: ClientKind,
    private readonly settings: ClientSettings,
  ) {}

  get present(): boolean {
    return this.#present;
  }

  get connected(): boolean {
    return this.#socket?.connected === true;
  }

  connect(): void {
    if (!this.#present || this.#socket) return;
    const slot = this.settings.pickNode();
    if (!slot) {
      this.#reconnectSoon();
      return;
    }
    const socket = io(slot.url, {
      query: { token: this.token, v: '2' },
      transports: ['websocket'],
      reconnection: false,
      timeout: 5_000,
    });
    this.#socket = socket;
    const { history } = this.settings;
    let nodeId = slot.nodeId;
    socket.on('connect', () => {
      nodeId = slot.nodeId;
      history.add({ kind: 'connect', t: Date.now(), token: this.token, nodeId, socketId: socket.id ?? '' });
    });
    socket.on('push_message', (frame: PushFrame, ack?: () => void) => this.#onPush(frame, ack));
    socket.on('session_error', () => this.sessionErrors++);
    socket.on('disconnect', (reason) => {
      history.add({ kind: 'disconnect', t: Date.now(), token: this.token, nodeId, reason });
      this.#dropSocket(socket);
    });
    socket.on('connect_error', () => this.#dropSocket(socket));
  }

  /** Ends the connection; a new one follows after `afterMs`. */
  bounce(afterMs: number): void {
    const socket = this.#socket;
    if (!socket) return;
    this.#socket = undefined;
    socket.disconnect();
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.connect(), afterMs);
  }

  /** Leaves for good: its session ends after the grace. */
  leave(): void {
    this.#present = false;
    clearTimeout(this.#retry);
    this.settings.history.add({ kind: 'leave', t: Date.now(), token: this.token });
    this.#socket?.disconnect();
    this.#socket = undefined;
  }

  #onPush(frame: PushFrame, ack?: () => void): void {
    const { history, random } = this.settings;
    history.add({ kind: 'received', t: Date.now(), token: this.token, id: frame.id });
    if (this.kind === 'silent' || !ack) return;
    const settle = (): void => {
      history.add({ kind: 'acked', t: Date.now(), token: this.token, id: frame.id });
      ack();
    };
    if (this.kind === 'prompt') settle();
    else setTimeout(settle, random.range(this.settings.slowAckMs));
  }

  #dropSocket(socket: Socket): void {
    socket.removeAllListeners();
    socket.disconnect();
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    this.#reconnectSoon();
  }

  #reconnectSoon(): void {
    if (!this.#present) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.connect(), this.settings.random.int(100, 600));
  }
}
