/**
 * Baseline (2): io-session-handler@1.0.74 from npm, the module io-session grows out of: one process, sessions
 * in memory. Pushes must be made in its process (`pushMessage`), so the load generator runs here, and
 * deliveries are counted through its `onMessageDelivered`.
 *
 * argv[2]: JSON `{ port }`
 */
import { createServer } from 'node:http';
import seed from 'io-session-handler';
import { Server } from 'socket.io';
import { exitWithParent } from '@io-session/devtools/child';
import { runLoad } from '../load/pacer.js';
import type { TargetCommand, TargetEvent } from './messages.js';

exitWithParent();
const { port } = JSON.parse(process.argv[2] ?? '{}') as { port: number };
const send = (event: TargetEvent): void => {
  process.send?.(event);
};

const http = createServer();
const io = new Server(http);
const handler = seed.from(io, { timeout: 5000 });
let delivered = 0;
handler.onMessageDelivered(() => {
  delivered += 1;
});

process.on('message', (command: TargetCommand) => {
  if (command.type !== 'load') return;
  runLoad(
    {
      send: (items) => {
        for (const item of items) handler.pushMessage(item.token, item.data);
      },
      delivered: () => delivered,
    },
    command.spec,
    {
      onSecond: (info) => send({ type: 'second', ...info }),
      onWindow: (edge) => send({ type: 'window', edge }),
    },
  ).then(
    (result) => send({ type: 'loaded', result }),
    (err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
});

http.listen(port, '127.0.0.1', () => send({ type: 'ready', port }));
