/** Types of io-session-handler@1.0.74 (plain CommonJS, no typings of its own): the parts the bench uses. */
declare module 'io-session-handler' {
  import type { Server } from 'socket.io';

  interface SeedConnection {
    id: string;
    token: string;
    status: 0 | 1;
  }

  interface SeedHandler {
    sessions: { token: string; connections: string[]; data?: unknown }[];
    from(io: Server, opts?: { timeout: number }): SeedHandler;
    connectionListener(listener: (connection: SeedConnection) => void): void;
    onMessageDelivered(listener: (delivery: { token: string; data: unknown }) => void): void;
    pushMessage(token: string, data: unknown): boolean;
    broadcastMessage(data: unknown): void;
  }

  const handler: SeedHandler;
  export = handler;
}
