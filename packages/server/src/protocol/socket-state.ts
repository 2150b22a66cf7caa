import type { PendingMessage, Protocol } from '@io-session/store';
import { handlerDefaults } from '../defaults.js';
import { FloodGuard, RateLimiter } from './rate-limiter.js';

/** What a node keeps per connection, from the handshake on (`socket.data.ios`). */
export interface SocketState {
  token: string;
  /** What events may call this session: its token, and the JWT the connection presented. */
  names: readonly string[];
  protocol: Protocol;
  limiter: RateLimiter;
  /** Acknowledgements have their own, larger budget (a returning client may owe a whole backlog at once). */
  ackLimiter: RateLimiter;
  /** What to do with events either limiter refused: answer at most one a second, disconnect a flood. */
  flood: FloodGuard;
  /** Messages waiting for this session when the connection was registered: sent once it is connected. */
  pending: PendingMessage[];
  /** Pushes routed to this socket before it was connected (null once connected). */
  buffered: PendingMessage[] | null;
  connected: boolean;
  /** Unregistration has started (it happens once). */
  released: boolean;
  /** The session was logged out before the socket was connected. */
  loggedOut: boolean;
}

export function newSocketState(input: {
  token: string;
  credential: unknown;
  protocol: Protocol;
  ratePerSec: number;
  ackRateFactor: number;
}): SocketState {
  const { token, credential } = input;
  return {
    token,
    names: typeof credential === 'string' && credential !== token ? [token, credential] : [token],
    protocol: input.protocol,
    limiter: new RateLimiter(input.ratePerSec),
    ackLimiter: new RateLimiter(input.ackRateFactor * input.ratePerSec),
    flood: new FloodGuard({
      maxRefusals: handlerDefaults.floodRefusalsFactor * input.ratePerSec,
      windowMs: handlerDefaults.floodWindowMs,
      replyIntervalMs: handlerDefaults.refusalReplyIntervalMs,
    }),
    pending: [],
    buffered: [],
    connected: false,
    released: false,
    loggedOut: false,
  };
}

/** The state the handshake attached to a socket. */
export function stateOf(socket: { data: { ios?: SocketState } }): SocketState {
  return socket.data.ios as SocketState;
}
