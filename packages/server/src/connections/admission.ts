import type { Socket } from 'socket.io';
import { AuthError, validToken, type Authenticator, type Identity } from '../auth.js';
import { newSocketState, type SocketState } from '../protocol/socket-state.js';
import { protocolOf } from '../protocol/wire.js';
import type { ConnectionLimits, ConnectionSlot } from './connection-limits.js';
import type { Registration } from './registration.js';

export interface AdmissionOptions {
  authenticate: Authenticator;
  registration: Registration;
  ratePerSec: number;
  ackRateFactor: number;
  draining: () => boolean;
  /** Connection limits of this node; none when absent. */
  limits?: ConnectionLimits | undefined;
  /** Makes the session a member of the groups its credential names (the JWT claim `groups`). */
  joinGroups: (token: string, groups: readonly string[]) => Promise<void>;
}

/** `connect_error` message of a handshake refused by a connection limit. */
export const TOO_MANY_CONNECTIONS = 'too_many_connections';

/** setTimeout takes at most 2^31-1 ms (~24.8 days); a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The handshake middleware: connection limits, authentication, then registration in Redis before the client is
 * told it is connected — so that a session exists by the time its client sees `connect`. From then on exactly
 * one of `disconnect` (connected sockets) or the transport's `close` (sockets that never got connected)
 * unregisters it. A credential with an expiry closes the connection's transport when it expires, after
 * `session_error token_expired`: the client reconnects with a fresh credential.
 */
export async function admit(socket: Socket, o: AdmissionOptions): Promise<void> {
  if (o.draining()) throw new Error('draining');
  const slot = takeSlot(socket, o.limits);
  let done = false;
  let cancelExpiry = (): void => undefined;
  const release = (): void => {
    slot?.release();
    cancelExpiry();
  };
  try {
    const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    const query = socket.handshake.query as Record<string, unknown>;
    const credential = auth.token ?? query.token;
    const identity = identityOf(await o.authenticate(credential));
    if (slot && !slot.claimToken(identity.token)) throw new Error(TOO_MANY_CONNECTIONS);
    const state = newSocketState({
      token: identity.token,
      credential,
      protocol: protocolOf(auth, query),
      ratePerSec: o.ratePerSec,
      ackRateFactor: o.ackRateFactor,
    });
    socket.data.ios = state;
    if (!(await o.registration.register(socket, state))) throw new Error('unavailable');
    if (identity.groups?.length) await joinOrRelease(socket, state, o, identity.groups);
    cancelExpiry = expireAt(socket, identity.expiresAt);
    const onClose = (): void => {
      release();
      if (!state.connected) o.registration.release(socket, state);
    };
    socket.once('disconnect', release);
    socket.conn.once('close', onClose);
    done = true;
    if (socket.conn.readyState !== 'open') onClose();
  } finally {
    if (!done) release();
  }
}

/** Joins the credential's groups before the client is told it is connected; a Redis failure refuses it. */
async function joinOrRelease(
  socket: Socket,
  state: SocketState,
  o: AdmissionOptions,
  groups: readonly string[],
): Promise<void> {
  try {
    await o.joinGroups(state.token, groups);
  } catch {
    o.registration.release(socket, state);
    throw new Error('unavailable');
  }
}

function takeSlot(socket: Socket, limits: ConnectionLimits | undefined): ConnectionSlot | undefined {
  if (!limits) return undefined;
  const slot = limits.take(limits.addressOf(socket.handshake));
  if (!slot) throw new Error(TOO_MANY_CONNECTIONS);
  return slot;
}

/** What an authenticator returned, checked (a custom one may return anything). */
function identityOf(result: string | Identity): Identity {
  const identity = typeof result === 'string' ? { token: result } : result;
  if (!validToken(identity?.token)) throw new AuthError();
  const { expiresAt } = identity;
  if (expiresAt !== undefined && !(expiresAt > Date.now())) throw new AuthError();
  return identity;
}

/** Closes the socket's transport when its credential expires. @returns the cancel (on close). */
function expireAt(socket: Socket, expiresAt: number | undefined): () => void {
  if (expiresAt === undefined) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const wait = expiresAt - Date.now();
    if (wait > 0) {
      timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
      timer.unref();
      return;
    }
    socket.emit('session_error', {
      code: 'token_expired',
      message: 'the credential of this connection expired; reconnect with a fresh one',
    });
    // The transport, not a DISCONNECT packet: socket.io-client reconnects after a transport close by itself.
    socket.conn.close();
  };
  arm();
  return () => clearTimeout(timer);
}
