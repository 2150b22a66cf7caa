import type { Protocol } from '@io-session/store';
import { handlerDefaults } from '../defaults.js';
import type { FirstPage } from '../delivery/replay.js';
import { FloodGuard, RateLimiter } from './rate-limiter.js';
import type { Sender } from './sender.js';

/** What a node keeps per connection, from the handshake on (`socket.data.ios`). */
export interface SocketState {
  token: string;
  /** What events may call this session: its token, and the JWT the connection presented. */
  names: readonly string[];
  protocol: Protocol;
  limiter: RateLimiter;
  /** Acknowledgements have their own, larger budget (a returning client may owe a whole backlog at once). */
  ackLimiter: RateLimiter;
  /** The session lifetime the connection joined (once registered). */
  sid: string;
  /** The first page of the inbox the registration returned: sent once the connection is up. */
  first: FirstPage | undefined;
  /** Everything this connection is sent goes through its sender (made at registration). */
  sender: Sender | undefined;
  /** What to do with events either limiter refused: answer at most one a second, disconnect a flood. */
  flood: FloodGuard;
  connected: boolean;
  /** The registration failed on the node's side: it may have run in Redis, its unregistration undoes it. */
  unanswered: boolean;
  /** Unregistration has started (it happens once). */
  released: boolean;
  /** The session was logged out before the socket was connected. */
  loggedOut: boolean;
  /** Receipts by data this connection asked the store to settle (numbers its calls: a replay settles nothing twice). */
  receiptsByData: number;
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
    sid: '',
    first: undefined,
    sender: undefined,
    flood: new FloodGuard({
      maxRefusals: handlerDefaults.floodRefusalsFactor * input.ratePerSec,
      windowMs: handlerDefaults.floodWindowMs,
      replyIntervalMs: handlerDefaults.refusalReplyIntervalMs,
    }),
    connected: false,
    unanswered: false,
    released: false,
    loggedOut: false,
    receiptsByData: 0,
  };
}

/** The state the handshake attached to a socket. */
export function stateOf(socket: { data: { ios?: SocketState } }): SocketState {
  return socket.data.ios as SocketState;
}
