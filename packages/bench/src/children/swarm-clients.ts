/**
 * The clients of a swarm, one per session, by kind: raw socket.io-client connections for `v2` and `legacy`,
 * the SDK (`@io-session/client`, Node entry, `protocol: 3`) for `v3`; and a raw `v: 3` probe that reports
 * which push event a node answers with.
 */
import { connect as connectSdk } from '@io-session/client';
import { io } from 'socket.io-client';
import type { ClientMode, ProbeResult, SwarmClient } from './messages.js';

/** What a client reports to its swarm. */
export interface ClientHooks {
  /** A push's data arrived (before it is acknowledged). */
  onData(data: unknown): void;
  /** The connection dropped without the swarm asking. */
  onDropped(): void;
  /** An SDK `error` event (v3 clients). */
  onError(code: string): void;
}

export interface OpenClient {
  close(): void;
}

/** Opens one client; resolves once it is connected, rejects when its handshake fails. */
export function openClient(client: SwarmClient, mode: ClientMode, hooks: ClientHooks): Promise<OpenClient> {
  return mode === 'v3' ? openSdk(client, hooks) : openRaw(client, mode, hooks);
}

function openRaw(client: SwarmClient, mode: 'v2' | 'legacy', hooks: ClientHooks): Promise<OpenClient> {
  const query: Record<string, string> = { token: client.token };
  if (mode === 'v2') query.v = '2';
  const socket = io(client.url, {
    query,
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
  });
  if (mode === 'v2') {
    socket.on('push_message', (message: { data?: unknown }, ack?: () => void) => {
      hooks.onData(message?.data);
      ack?.();
    });
  } else {
    socket.on('push_message', (data: unknown) => {
      hooks.onData(data);
      socket.emit('push_message_delivery', JSON.stringify({ token: client.token, data }));
    });
  }
  socket.on('disconnect', (reason) => {
    if (reason !== 'io client disconnect') hooks.onDropped();
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ close: () => socket.disconnect() }));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

function openSdk(client: SwarmClient, hooks: ClientHooks): Promise<OpenClient> {
  const sdk = connectSdk(client.url, {
    token: client.token,
    protocol: 3,
    transports: ['websocket'],
    reconnection: false,
    connectTimeoutMs: 30_000,
  });
  sdk.onPush((data) => hooks.onData(data));
  let up = false;
  sdk.on('disconnected', ({ reason }) => {
    if (reason !== 'io client disconnect') hooks.onDropped();
  });
  return new Promise((resolve, reject) => {
    sdk.on('error', (error) => {
      if (up || error.source !== 'connect_error') {
        hooks.onError(error.code);
        return;
      }
      sdk.close();
      reject(new Error(error.message));
    });
    sdk.once('connected', () => {
      up = true;
      resolve({ close: () => sdk.close() });
    });
  });
}

/**
 * A raw socket.io-client connection with `v: 3` that reports the first push event it gets (`push_batch` from a
 * node that speaks v3; `push_message` from one that treats the unknown version as legacy) and settles it.
 * `onReady` is called once connected; resolves with what arrived, or `event: null` after `timeoutMs`.
 */
export function probe(
  target: { url: string; token: string; timeoutMs: number },
  onReady: () => void,
): Promise<ProbeResult> {
  const socket = io(target.url, {
    auth: { token: target.token, v: 3 },
    query: { token: target.token, v: '3' },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  return new Promise<ProbeResult>((resolve) => {
    const done = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.disconnect();
      resolve(result);
    };
    const timer = setTimeout(() => done({ event: null, ack: false }), target.timeoutMs);
    socket.once('connect', onReady);
    socket.once('connect_error', (err) => done({ event: null, ack: false, error: err.message }));
    socket.onAny((event: string, ...args: unknown[]) => {
      if (event !== 'push_batch' && event !== 'push_message') return;
      const ack = args[args.length - 1];
      if (typeof ack === 'function') (ack as () => void)();
      else socket.emit('push_message_delivery', JSON.stringify({ token: target.token, data: args[0] }));
      done({ event, ack: typeof ack === 'function' });
    });
  });
}
