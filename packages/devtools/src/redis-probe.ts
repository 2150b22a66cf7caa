import { connect } from 'node:net';
import { Redis } from 'ioredis';

/**
 * Sends one inline command to 127.0.0.1:`port` over a fresh TCP connection and resolves with the first line
 * of the reply (`+PONG`, `:0`, `-ERR …`). No client library: it works on a server that is half up or going
 * down, and never reconnects.
 */
export function rawCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      socket.destroy();
      settle();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no reply to ${command} from 127.0.0.1:${port}`))),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const end = reply.indexOf('\r\n');
      if (end >= 0) finish(() => resolve(reply.slice(0, end)));
    });
    socket.on('error', (err) => finish(() => reject(err)));
    socket.on('close', () =>
      finish(() => reject(new Error(`connection to 127.0.0.1:${port} closed without a reply`))),
    );
  });
}

/** Whether a Redis on 127.0.0.1:`port` answers PING. */
export async function ping(port: number): Promise<boolean> {
  try {
    return (await rawCommand(port, 'PING', 500)) === '+PONG';
  } catch {
    return false;
  }
}

/** Whether the Redis at `url` (any `redis://` URL, with password or TLS) answers PING within a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** A client for one local server that never queues or retries: an unreachable server fails the call. */
export function localClient(port: number, connectionName = 'devtools'): Redis {
  const client = new Redis(port, '127.0.0.1', {
    connectionName,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  return client;
}
