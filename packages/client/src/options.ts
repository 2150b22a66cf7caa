import type { ProtocolVersion } from './wire.js';

/** A credential, or a function that returns one; called before every (re)connect. */
export type TokenSource = () => string | Promise<string>;

/** Socket.IO transports the client may use, in the order it tries them. */
export type Transport = 'polling' | 'websocket' | 'webtransport';

/**
 * Options of {@link connect}. Give exactly one of `token` and `getToken`; everything else is optional and
 * defaults to the value in {@link clientDefaults}, merged in {@link resolveOptions} (the only place).
 */
export interface ConnectOptions {
  /** The session token (with `AUTH=jwt` on the server: a JWT whose `sub` is the session token). */
  token?: string;
  /**
   * Returns the credential. Called before every connect and reconnect, so a short-lived JWT can be
   * refreshed. When it throws, the client reports an `error` (`token_unavailable`) and retries with backoff.
   */
  getToken?: TokenSource;
  /**
   * The session token the server knows the connection by (used in `client_data`). Default: the JWT's `sub`
   * when the credential is a JWT, else the credential itself.
   */
  sessionToken?: string;
  /** Transports, in the order they are tried. Default `['polling', 'websocket']` (as Socket.IO). */
  transports?: Transport[];
  /** Path of the Socket.IO endpoint. Default `'/socket.io'`. */
  path?: string;
  /** Reconnect when the connection drops. Default `true`. */
  reconnection?: boolean;
  /** Delay before the first reconnect attempt; it doubles per failed attempt. Default 500 ms. */
  reconnectDelayMinMs?: number;
  /** Longest delay between reconnect attempts. Default 10000 ms. */
  reconnectDelayMaxMs?: number;
  /**
   * Share of each delay that is random (0 to 1), so that thousands of clients dropped by one node do not
   * come back at the same instant: a delay `d` becomes a value between `d * (1 - jitter)` and `d`. Default 0.5.
   */
  jitter?: number;
  /** How long a handshake may take before it counts as failed. Default 20000 ms. */
  connectTimeoutMs?: number;
  /**
   * How many handled message ids the client remembers to drop duplicates (least recently seen forgotten
   * first). Pushes are re-sent until acknowledged, so a message can arrive again after a reconnect. Default 1000.
   */
  dedupeWindow?: number;
  /**
   * The wire protocol asked for at the handshake (`v` in `auth`). Default 3: pushes come in `push_batch` frames,
   * handled one message at a time in order and acknowledged once per frame (only the messages whose handlers
   * finished; the others stay pending and come again on the next connection), so a busy connection costs the
   * server one frame for many messages. `2`: one `push_message` per push, each acknowledged by its own
   * callback, for servers that do not speak v3 yet. Both drop duplicates and acknowledge only after the
   * handlers, alike.
   */
  protocol?: ProtocolVersion;
}

/** The defaults of {@link ConnectOptions}. */
export const clientDefaults = {
  transports: ['polling', 'websocket'] as Transport[],
  path: '/socket.io',
  reconnection: true,
  reconnectDelayMinMs: 500,
  reconnectDelayMaxMs: 10_000,
  jitter: 0.5,
  connectTimeoutMs: 20_000,
  dedupeWindow: 1000,
  protocol: 3 as ProtocolVersion,
} as const;

/** {@link ConnectOptions} with every default filled in. */
export interface ResolvedOptions extends Omit<
  Required<ConnectOptions>,
  'token' | 'getToken' | 'sessionToken'
> {
  getToken: TokenSource;
  /** True when the credential is the fixed `token` option (a refused one is not retried). */
  staticToken: boolean;
  sessionToken: string | undefined;
}

function positive(name: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TypeError(
      `io-session: option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`,
    );
  }
  return value;
}

/** Merges the defaults into `options` and checks them; throws a TypeError naming the option at fault. */
export function resolveOptions(options: ConnectOptions): ResolvedOptions {
  const { token, getToken } = options;
  if ((token === undefined) === (getToken === undefined)) {
    throw new TypeError('io-session: pass exactly one of the options token and getToken');
  }
  if (token !== undefined && (typeof token !== 'string' || token === '')) {
    throw new TypeError('io-session: option token must be a non-empty string');
  }
  const merged = { ...clientDefaults, ...options };
  const min = positive('reconnectDelayMinMs', merged.reconnectDelayMinMs, true);
  const max = positive('reconnectDelayMaxMs', merged.reconnectDelayMaxMs, true);
  if (max < min) throw new TypeError('io-session: option reconnectDelayMaxMs must be >= reconnectDelayMinMs');
  if (!(merged.jitter >= 0 && merged.jitter <= 1)) {
    throw new TypeError('io-session: option jitter must be between 0 and 1');
  }
  if (merged.protocol !== 2 && merged.protocol !== 3) {
    throw new TypeError('io-session: option protocol must be 2 or 3');
  }
  return {
    getToken: getToken ?? (() => token as string),
    staticToken: getToken === undefined,
    sessionToken: options.sessionToken,
    transports: [...merged.transports],
    path: merged.path,
    reconnection: merged.reconnection,
    reconnectDelayMinMs: min,
    reconnectDelayMaxMs: max,
    jitter: merged.jitter,
    connectTimeoutMs: positive('connectTimeoutMs', merged.connectTimeoutMs),
    dedupeWindow: Math.floor(positive('dedupeWindow', merged.dedupeWindow)),
    protocol: merged.protocol,
  };
}
