import { io, type Socket } from 'socket.io-client';
import { deferCleanup } from './cleanup.js';
import { withTimeout } from './wait.js';

export interface ClientOptions {
  /** The session token (or JWT with AUTH=jwt); omitted entirely when undefined. */
  token?: string | undefined;
  /** Protocol version: 2 adds `v: 2` next to the token. */
  v?: 2;
  /** Send the token in `auth` instead of the query (the seed's way). Default false. */
  auth?: boolean;
  /** Default `['websocket']`. */
  transports?: ('websocket' | 'polling')[];
  /** Let socket.io-client reconnect by itself. Default false: tests connect explicitly. */
  reconnection?: boolean;
  /** How long to wait for `connect`. Default 10000 ms. */
  timeout?: number;
  /** Extra HTTP headers of the handshake (e.g. `x-forwarded-for`). */
  extraHeaders?: Record<string, string>;
}

/** Connects a socket.io client; resolves on `connect`, rejects with the `connect_error` error. Closed after the file. */
export async function connectClient(url: string, options: ClientOptions = {}): Promise<Socket> {
  const credentials: Record<string, string | number> = {};
  if (options.token !== undefined) credentials.token = options.token;
  if (options.v !== undefined) credentials.v = options.v;
  const socket = io(url, {
    forceNew: true,
    transports: options.transports ?? ['websocket'],
    reconnection: options.reconnection ?? false,
    timeout: options.timeout ?? 10_000,
    ...(options.extraHeaders ? { extraHeaders: options.extraHeaders } : {}),
    ...(options.auth ? { auth: credentials } : { query: credentials }),
  });
  deferCleanup(() => {
    socket.disconnect();
  });
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (err) => reject(err));
      }),
      options.timeout ?? 10_000,
      `socket.io connect to ${url}`,
    );
  } catch (err) {
    socket.disconnect();
    throw err;
  }
  return socket;
}

/** Resolves with the `connect_error` a handshake fails with (throws if it connects instead). */
export async function connectError(url: string, options: ClientOptions = {}): Promise<Error> {
  try {
    const socket = await connectClient(url, options);
    socket.disconnect();
  } catch (err) {
    return err as Error;
  }
  throw new Error('the handshake succeeded, but a connect_error was expected');
}

/** A listener of any event; `any` because socket.io's typed `on` accepts nothing narrower. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyListener = (...args: any[]) => void;

/** Anything with `on`/`off` for string events: a socket.io Socket, a Node EventEmitter. */
export interface Emitterish {
  on(event: string, listener: AnyListener): unknown;
  off(event: string, listener: AnyListener): unknown;
}

export interface NextEventOptions {
  /** Default 10000 ms. */
  timeout?: number;
  /** Only an event whose arguments pass this counts. */
  filter?: (...args: unknown[]) => boolean;
}

/** Resolves with the arguments of the next `event` (that passes `filter`). */
export function nextEvent(
  emitter: Emitterish,
  event: string,
  options: NextEventOptions = {},
): Promise<unknown[]> {
  const timeout = options.timeout ?? 10_000;
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]): void => {
      if (options.filter && !options.filter(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' event within ${timeout} ms`));
    }, timeout);
    emitter.on(event, listener);
  });
}

/**
 * Records values pushed into it (from any callback API) and lets a test wait for one that matches.
 * `waitFor` looks at values already recorded first, so nothing is missed between the action and the wait.
 */
export class Recorder<T> {
  readonly items: T[] = [];
  #waiters: { test: (item: T) => boolean; resolve: (item: T) => void }[] = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    for (const waiter of [...this.#waiters]) {
      if (waiter.test(item)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(item);
      }
    }
  };

  /** Resolves with the first recorded value (past or future) that passes `test`. */
  waitFor(test: (item: T) => boolean = () => true, timeout = 10_000, what = 'a matching event'): Promise<T> {
    const found = this.items.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return withTimeout(new Promise<T>((resolve) => this.#waiters.push({ test, resolve })), timeout, what);
  }

  /** Waits until `count` recorded values pass `test`; resolves with them. */
  async waitForCount(test: (item: T) => boolean, count: number, timeout = 10_000): Promise<T[]> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const matching = this.items.filter(test);
      if (matching.length >= count) return matching;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`saw ${matching.length} of ${count} expected events within ${timeout} ms`);
      const seen = matching.length;
      await this.waitFor((item) => test(item) && this.items.filter(test).length > seen, left).catch(
        () => undefined,
      );
    }
  }

  filter(test: (item: T) => boolean): T[] {
    return this.items.filter(test);
  }
}

/** Records every `event` an emitter sends (each item is the argument list). */
export function collect(emitter: Emitterish, event: string): Recorder<unknown[]> {
  const recorder = new Recorder<unknown[]>();
  const listener = (...args: unknown[]): void => recorder.push(args);
  emitter.on(event, listener);
  deferCleanup(() => emitter.off(event, listener));
  return recorder;
}

export interface ApiOptions {
  method?: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  body?: unknown;
  /** Bearer key; `null` sends no Authorization header. */
  apiKey?: string | null;
  timeout?: number;
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the HTTP API of a node; the body is parsed when it is JSON, else the text (null when empty). */
export async function api<T = unknown>(
  baseUrl: string,
  path: string,
  options: ApiOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${path}`, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(options.timeout ?? 10_000),
  });
  const text = await res.text();
  let body: unknown = text === '' ? null : text;
  if (text !== '' && (res.headers.get('content-type') ?? '').includes('json'))
    body = JSON.parse(text) as unknown;
  return { status: res.status, body: body as T, headers: res.headers };
}
