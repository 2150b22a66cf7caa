import { io, type Socket } from 'socket.io-client';
import { backoffDelay } from './backoff.js';
import { TypedEmitter } from './emitter.js';
import type {
  ClientError,
  ClientState,
  PushHandler,
  SessionClientEvents,
  SessionErrorCode,
} from './events.js';
import { Inbox, type Arrival } from './inbox.js';
import { resolveOptions, type ConnectOptions, type ResolvedOptions } from './options.js';
import { sessionTokenOf } from './session-token.js';
import { PUSH_EVENT, type AckCallback } from './wire.js';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A connection to an io-session cluster, made by {@link connect}, speaking protocol v3 (pushes in
 * `push_batch` frames, one acknowledgement per frame) or, with `protocol: 2`, v2 (one `push_message` each).
 * It reconnects by itself, acknowledges each push once its handlers are done, and drops pushes it has
 * already handled.
 *
 * @example
 * const client = connect('https://push.example.com', { token: 'user-42' });
 * client.onPush(async (data, { id }) => {
 *   await show(data); // acknowledged when this resolves; if it throws, the message comes back later
 * });
 * client.on('error', (e) => console.warn(e.code, e.message));
 */
export class SessionClient extends TypedEmitter<SessionClientEvents> {
  readonly #options: ResolvedOptions;
  readonly #socket: Socket;
  readonly #inbox: Inbox;
  #state: ClientState = 'connecting';
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped on every connect: an acknowledgement callback is only valid on the connection it came with. */
  #epoch = 0;
  /** Bumped by every open: a late `getToken` answer of an abandoned open is ignored. */
  #opening = 0;
  #sessionToken: string | undefined;
  #unsentData: { data: unknown } | undefined;
  /** Epoch of the last connection told that the server speaks another protocol (told once per connection). */
  #mismatchTold = 0;

  constructor(url: string, options: ConnectOptions) {
    super();
    this.#options = resolveOptions(options);
    this.#inbox = new Inbox(
      {
        closed: () => this.#state === 'closed',
        epoch: () => (this.#socket.connected ? this.#epoch : undefined),
        settle: (payload) => this.#socket.emit('push_message_delivery', payload),
        error: (error) => this.#error(error),
      },
      this.#options.dedupeWindow,
    );
    this.#socket = io(url, {
      forceNew: true,
      autoConnect: false,
      // The client owns reconnection (one backoff for every cause, a fresh credential each time).
      reconnection: false,
      transports: this.#options.transports,
      path: this.#options.path,
      timeout: this.#options.connectTimeoutMs,
    });
    this.#listen();
    void this.#open();
  }

  /** Where the client is: `connecting`, `connected`, `reconnecting`, `disconnected`, `logged_out` or `closed`. */
  get state(): ClientState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** Id of the current connection (Socket.IO socket id), while connected. */
  get socketId(): string | undefined {
    return this.#socket.id;
  }

  /** The session token (a JWT's `sub`), once the credential is known. */
  get token(): string | undefined {
    return this.#sessionToken;
  }

  /**
   * Registers a push handler; returns a function that removes it. Handlers run one message at a time, in
   * order. A message is acknowledged once every handler has returned or resolved; if one throws or rejects,
   * the client emits `error` (`handler_error`) and does not acknowledge: the server sends the message again
   * on the next connection. A message id handled before is acknowledged again without calling the handlers.
   * Pushes that arrive while no handler is registered are left pending. With protocol v3 the messages of a
   * frame are handled in order and the frame is acknowledged once, after its last message, naming only the
   * messages that may be settled.
   *
   * @example
   * client.onPush(async (data, meta) => {
   *   if (meta.broadcast) return; // broadcasts are never re-sent
   *   await db.save(meta.id, data);
   * });
   */
  onPush(handler: PushHandler): () => void {
    return this.#inbox.add(handler);
  }

  /**
   * Stores `data` on the session (`client_data`), where the HTTP API and `onClientData` see it. Sent at
   * once when connected; otherwise the latest value is sent when the connection is up.
   *
   * @example
   * client.setData({ page: location.pathname });
   */
  setData(data: unknown): void {
    if (this.#state === 'closed') return;
    if (this.#socket.connected && this.#sessionToken !== undefined) {
      this.#socket.emit('client_data', { token: this.#sessionToken, data });
    } else {
      this.#unsentData = { data };
    }
  }

  /**
   * Drops the current connection and connects again at once, with a fresh credential from `getToken`.
   * Also starts again after `logout` or after the client gave up. Pushes still pending come again.
   */
  reconnect(): void {
    if (this.#state === 'closed') return;
    this.#clearTimer();
    this.#attempt = 0;
    this.#state = 'connecting';
    if (this.#socket.active) this.#socket.disconnect();
    void this.#open();
  }

  /** Disconnects for good: no more reconnects, events or handler calls. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#clearTimer();
    this.#socket.disconnect();
    this.#socket.off();
    this.#inbox.clear();
    this.removeAllListeners();
  }

  #listen(): void {
    this.#listenConnection();
    this.#listenPushes();
    this.#listenSession();
  }

  #listenConnection(): void {
    const socket = this.#socket;
    socket.on('connect', () => {
      this.#epoch += 1;
      this.#attempt = 0;
      this.#state = 'connected';
      this.emit('connected', { socketId: socket.id ?? '' });
      if (this.#unsentData && this.#sessionToken !== undefined) {
        socket.emit('client_data', { token: this.#sessionToken, data: this.#unsentData.data });
        this.#unsentData = undefined;
      }
    });
    socket.on('disconnect', (reason) => {
      if (this.#state === 'closed') return;
      if (reason === 'io client disconnect') {
        // Our own doing: close() (silent), reconnect() (state is already `connecting`).
        this.emit('disconnected', { reason, willReconnect: this.#state === 'connecting' });
        return;
      }
      const willReconnect = this.#state !== 'logged_out' && this.#options.reconnection;
      if (this.#state !== 'logged_out') this.#state = willReconnect ? 'reconnecting' : 'disconnected';
      this.emit('disconnected', { reason, willReconnect });
      if (willReconnect) this.#scheduleReconnect();
    });
    socket.on('connect_error', (err: Error) => this.#onConnectError(err));
  }

  #onConnectError(err: Error): void {
    if (this.#state === 'closed') return;
    const invalid = err.message === 'invalid_token';
    this.#error({
      code: invalid ? 'invalid_token' : 'connect_failed',
      message: invalid ? 'the server refused the token' : `could not connect: ${err.message}`,
      source: 'connect_error',
      cause: err,
    });
    if (this.#state !== 'connecting') return;
    // A fixed token the server refused will be refused again: give up. `getToken` may fetch a new one.
    const hopeless = invalid && this.#options.staticToken;
    if (!hopeless && this.#options.reconnection) {
      this.#state = 'reconnecting';
      this.#scheduleReconnect();
    } else {
      this.#state = 'disconnected';
    }
  }

  /** Pushes arrive as the protocol asked for at the handshake says; the other protocol's event is reported. */
  #listenPushes(): void {
    const version = this.#options.protocol;
    const arrival = (ack: AckCallback | undefined): Arrival => ({
      epoch: this.#epoch,
      ack: typeof ack === 'function' ? ack : undefined,
    });
    this.#socket.on(PUSH_EVENT[version], (payload: unknown, ack?: AckCallback) => {
      if (version === 3) this.#inbox.frame(payload, arrival(ack));
      else this.#inbox.push(payload, arrival(ack));
    });
    const other = PUSH_EVENT[version === 3 ? 2 : 3];
    this.#socket.on(other, () => {
      if (this.#state === 'closed' || this.#mismatchTold === this.#epoch) return;
      this.#mismatchTold = this.#epoch;
      this.#error({
        code: 'malformed_push',
        message:
          `the server sent ${other} to a protocol v${version} connection: it does not speak protocol ` +
          `v${version}; these pushes stay pending (connect with the protocol option the server speaks)`,
        source: 'client',
      });
    });
  }

  #listenSession(): void {
    const socket = this.#socket;
    socket.on('logout', () => {
      if (this.#state === 'closed') return;
      this.#state = 'logged_out';
      this.#clearTimer();
      this.emit('logout', { token: this.#sessionToken ?? '' });
    });
    socket.on('session_error', (payload: unknown) => {
      const { code, message } = (payload ?? {}) as { code?: unknown; message?: unknown };
      this.#error({
        code: (typeof code === 'string' ? code : 'malformed') as SessionErrorCode,
        message: typeof message === 'string' ? message : 'the server refused an event',
        source: 'session_error',
      });
    });
  }

  async #open(): Promise<void> {
    const opening = ++this.#opening;
    let credential: string;
    try {
      credential = await this.#options.getToken();
      if (typeof credential !== 'string' || credential === '')
        throw new TypeError('getToken returned no token');
    } catch (cause) {
      if (opening !== this.#opening || this.#state !== 'connecting') return;
      this.#error({
        code: 'token_unavailable',
        message: `getToken failed: ${messageOf(cause)}`,
        source: 'client',
        cause,
      });
      if (this.#options.reconnection) {
        this.#state = 'reconnecting';
        this.#scheduleReconnect();
      } else {
        this.#state = 'disconnected';
      }
      return;
    }
    if (opening !== this.#opening || this.#state !== 'connecting') return;
    this.#sessionToken = this.#options.sessionToken ?? sessionTokenOf(credential);
    this.#socket.auth = { token: credential, v: this.#options.protocol };
    this.#socket.connect();
  }

  #scheduleReconnect(): void {
    this.#clearTimer();
    const delayMs = backoffDelay(this.#attempt, {
      min: this.#options.reconnectDelayMinMs,
      max: this.#options.reconnectDelayMaxMs,
      jitter: this.#options.jitter,
    });
    this.#attempt += 1;
    this.emit('reconnecting', { attempt: this.#attempt, delayMs });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state !== 'reconnecting') return;
      this.#state = 'connecting';
      void this.#open();
    }, delayMs);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #error(error: ClientError): void {
    this.emit('error', error);
  }
}

/**
 * Connects to an io-session node (or a load balancer in front of a cluster), with protocol v3 unless
 * `options.protocol` says 2.
 *
 * @param url The node's base URL, e.g. `https://push.example.com` (the Socket.IO path is `options.path`).
 * @example
 * import { connect } from '@io-session/client';
 *
 * const client = connect('http://127.0.0.1:3000', {
 *   getToken: async () => (await fetch('/api/push-token')).text(), // called before every (re)connect
 * });
 * client.on('connected', ({ socketId }) => console.log('connected', socketId));
 * client.on('logout', () => console.log('signed out by the server'));
 * client.onPush(async (data, { id }) => console.log('push', id, data));
 */
export function connect(url: string, options: ConnectOptions): SessionClient {
  return new SessionClient(url, options);
}
