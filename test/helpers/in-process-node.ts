import { createServer } from 'node:http';
import { freePort } from '@io-session/devtools';
import { from, type SessionHandler, type SessionHandlerOptions } from '@io-session/server';
import type { RedisTarget } from '@io-session/store';
import { Server } from 'socket.io';
import { deferCleanup } from './cleanup.js';
import { Recorder } from './clients.js';
import { redisTarget } from './redis-client.js';

/** What a `connectionListener` reports. */
export interface ConnectionEventRecord {
  id: string;
  token: string;
  status: 0 | 1;
}

export interface InProcessNode {
  readonly url: string;
  readonly port: number;
  readonly io: Server;
  readonly handler: SessionHandler;
  /** Every event its `connectionListener` saw, in order. */
  readonly events: Recorder<ConnectionEventRecord>;
  /** Closes the Socket.IO server, then the handler. */
  close(): Promise<void>;
}

/**
 * A Socket.IO server on a free port with `from(io, options)` attached: a cluster node inside the test process.
 * Several of them on one Redis and prefix behave like several nodes. Closed after the test file. A `redis` URL
 * that is the shared Redis means the shared Redis Cluster with `TEST_REDIS=cluster`.
 */
export async function startInProcessNode(
  options: SessionHandlerOptions & { redis: RedisTarget; prefix: string },
): Promise<InProcessNode> {
  const port = await freePort();
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  const handler = from(io, {
    nodeId: `inproc-${port}`,
    timeout: 1000,
    heartbeatMs: 200,
    heartbeatTtlMs: 1000,
    sweepIntervalMs: 200,
    ...options,
    redis: typeof options.redis === 'string' ? redisTarget(options.redis) : options.redis,
  });
  const events = new Recorder<ConnectionEventRecord>();
  handler.connectionListener((event) => events.push({ ...event }));
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  let closed: Promise<void> | undefined;
  // io first, then the handler: the other order makes the Redis adapter unsubscribe on closed clients
  // (see handler-close.test.ts).
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
      });
      await handler.close();
    })());
  deferCleanup(close);
  await handler.ready();
  return { url: `http://127.0.0.1:${port}`, port, io, handler, events, close };
}
