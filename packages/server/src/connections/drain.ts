import type { Server } from 'socket.io';

/**
 * Closes this node's client transports, spread over `spreadMs` (so that they reconnect elsewhere without a
 * storm; their sessions do not end). The transport, not the Socket.IO session: after a DISCONNECT packet ('io
 * server disconnect') socket.io-client would not reconnect by itself; after a transport close it reconnects.
 */
export async function closeTransports(io: Server, spreadMs = 0): Promise<void> {
  const sockets = [...io.of('/').sockets.values()];
  const step = sockets.length > 0 ? spreadMs / sockets.length : 0;
  for (const socket of sockets) {
    socket.conn.close();
    if (step >= 1) await new Promise((resolve) => setTimeout(resolve, step));
  }
}
