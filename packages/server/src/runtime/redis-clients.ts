import { openRedis, type Logger, type RedisClient, type RedisTarget } from '@io-session/store';

/** The four connections of a node, each with its own job and name (CLIENT LIST shows them). */
export interface RedisClients {
  /** Scripts and reads of the session store. */
  commands: RedisClient;
  /** Publishes: the Socket.IO adapter and the router. */
  pub: RedisClient;
  /** Sharded subscriptions of the adapter and the router (never times out a command). */
  sub: RedisClient;
  /** BullMQ queues and the push consumer (blocking commands: `maxRetriesPerRequest: null`). */
  bull: RedisClient;
}

export function openRedisClients(target: RedisTarget, nodeId: string, logger: Logger): RedisClients {
  const clients: RedisClients = {
    commands: openRedis(target, { connectionName: `ios-${nodeId}` }),
    pub: openRedis(target, { connectionName: `ios-${nodeId}-pub` }),
    sub: openRedis(target, {
      connectionName: `ios-${nodeId}-sub`,
      maxRetriesPerRequest: null,
      subscriber: true,
    }),
    bull: openRedis(target, { connectionName: `ios-${nodeId}-bull`, maxRetriesPerRequest: null }),
  };
  for (const [name, client] of Object.entries(clients)) {
    client.on('error', (err: Error) => logger.debug({ err: err.message, client: name }, 'redis error'));
  }
  return clients;
}

export async function quitAll(clients: RedisClients): Promise<void> {
  await Promise.all(Object.values(clients).map((c: RedisClient) => c.quit().catch(() => c.disconnect())));
}

/**
 * The Socket.IO adapter's view of a client. The adapter fires SUNSUBSCRIBE without handling its promise; once the
 * node has closed its clients, an `io.close()` after `handler.close()` would turn each into an unhandled rejection.
 * After `closed()` the view answers those unsubscribes itself: the subscriptions went with the connection.
 */
export function adapterView<T extends object>(client: T, closed: () => boolean): T {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'sunsubscribe' && closed()) return () => Promise.resolve(0);
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
