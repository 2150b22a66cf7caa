import type { Socket } from 'socket.io';
import type { Authenticator } from '../auth.js';
import { newSocketState } from '../protocol/socket-state.js';
import { protocolOf } from '../protocol/wire.js';
import type { Registration } from './registration.js';

export interface AdmissionOptions {
  authenticate: Authenticator;
  registration: Registration;
  ratePerSec: number;
  ackRateFactor: number;
  draining: () => boolean;
}

/**
 * The handshake middleware: authenticates, then registers the connection in Redis before the client is told it
 * is connected — so that a session exists by the time its client sees `connect`. From then on exactly one of
 * `disconnect` (connected sockets) or the transport's `close` (sockets that never got connected) unregisters it.
 */
export async function admit(socket: Socket, o: AdmissionOptions): Promise<void> {
  if (o.draining()) throw new Error('draining');
  const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
  const query = socket.handshake.query as Record<string, unknown>;
  const credential = auth.token ?? query.token;
  const token = await o.authenticate(credential);
  const state = newSocketState({
    token,
    credential,
    protocol: protocolOf(auth, query),
    ratePerSec: o.ratePerSec,
    ackRateFactor: o.ackRateFactor,
  });
  socket.data.ios = state;
  if (!(await o.registration.register(socket, state))) throw new Error('unavailable');
  const onClose = (): void => {
    if (!state.connected) o.registration.release(socket, state);
  };
  socket.conn.once('close', onClose);
  if (socket.conn.readyState !== 'open') onClose();
}
