import { createServer } from 'node:net';
import { devtoolsDefaults } from './defaults.js';

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picked it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not read the port the OS picked'))));
    });
  });
}

/** Whether `port` can be listened on at 127.0.0.1 now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port whose Redis Cluster bus port (port + 10000) is free too, and neither in `taken`; both are added
 * to `taken`, so that the nodes of one cluster get distinct ports.
 */
export async function freeClusterPort(taken: Set<number> = new Set()): Promise<number> {
  const { clusterPortFrom, clusterPortSpan } = devtoolsDefaults;
  for (;;) {
    const port = clusterPortFrom + Math.floor(Math.random() * clusterPortSpan);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10000))) {
      taken.add(port).add(port + 10000);
      return port;
    }
  }
}
