import { createServer } from 'node:http';
import { freePort } from '@io-session/devtools';
import { from } from '@io-session/server';
import { Server } from 'socket.io';
import { describe, expect, it } from 'vitest';
import { deferCleanup } from '../helpers/cleanup.js';
import { connectClient, nextEvent } from '../helpers/clients.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, redisTarget } from '../helpers/redis-client.js';
import { waitUntil } from '../helpers/wait.js';

describe('closing an in-process handler', () => {
  it('the documented order — await handler.close(), then io.close() — leaves no unhandled rejection', async () => {
    const rejections: unknown[] = [];
    let firstRejection: () => void = () => undefined;
    const rejected = new Promise<void>((resolve) => (firstRejection = resolve));
    const onRejection = (reason: unknown): void => {
      rejections.push(reason);
      firstRejection();
    };
    process.on('unhandledRejection', onRejection);
    deferCleanup(() => process.off('unhandledRejection', onRejection));

    const prefix = uniquePrefix('close');
    dropPrefixAfterwards(prefix);
    const port = await freePort();
    const http = createServer();
    const io = new Server(http, { transports: ['websocket'] });
    const handler = from(io, { redis: redisTarget(), prefix, timeout: 500, consumePushQueue: false });
    await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
    await handler.ready();
    const client = await connectClient(`http://127.0.0.1:${port}`, { token: 'closing' });
    await waitUntil(async () => (await handler.getSession('closing'))?.connections.length === 1);

    const dropped = nextEvent(client, 'disconnect');
    await handler.close();
    await dropped;
    await new Promise<void>((resolve) => {
      void io.close(() => resolve());
    });
    // An absence cannot be awaited: give a broken close 500 ms to show itself (it does within a few ms).
    await Promise.race([rejected, new Promise((resolve) => setTimeout(resolve, 500))]);
    expect(rejections.map((r) => (r instanceof Error ? r.message : String(r)))).toEqual([]);
  });
});
