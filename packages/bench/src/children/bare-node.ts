/**
 * Baseline (1): a bare Socket.IO node, what one would write without io-session. The classic
 * `@socket.io/redis-adapter` (`createAdapter`), one room per token, pushes emitted from elsewhere with
 * `@socket.io/redis-emitter`; it counts the seed's `push_message_delivery` acknowledgements and reports them.
 * No session state, no storage, no receipts: the floor of a Socket.IO fan-out through Redis.
 *
 * argv[2]: JSON `{ redisUrl, port, name }`
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { exitWithParent } from '@io-session/devtools/child';
import type { TargetEvent } from './messages.js';
import { reportDelivered } from './report-delivered.js';

exitWithParent();
const { redisUrl, port, name } = JSON.parse(process.argv[2] ?? '{}') as {
  redisUrl: string;
  port: number;
  name: string;
};
const pub = new Redis(redisUrl, { connectionName: `${name}-pub` });
const sub = new Redis(redisUrl, { connectionName: `${name}-sub` });
for (const client of [pub, sub]) client.on('error', () => undefined);

const http = createServer();
const io = new Server(http);
io.adapter(createAdapter(pub, sub));
let delivered = 0;

io.on('connection', (socket) => {
  const token = String(socket.handshake.query.token ?? socket.handshake.auth.token ?? '');
  void socket.join(token);
  socket.on('push_message_delivery', (raw: unknown) => {
    try {
      const receipt = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { token?: unknown };
      if (receipt && receipt.token === token) delivered += 1;
    } catch {
      // a malformed receipt is ignored, as a careful bare server would
    }
  });
});

reportDelivered(() => delivered);
http.listen(port, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port } satisfies TargetEvent);
});
