import { beforeAll, describe, expect, it } from 'vitest';
import { connectClient, connectError, type ClientOptions } from '../helpers/clients.js';
import { startNode, type NodeProcess } from '../helpers/node-process.js';
import { uniquePrefix } from '../helpers/prefix.js';
import { dropPrefixAfterwards, SHARED_REDIS_URL } from '../helpers/redis-client.js';
import { getSession, sessionWhere } from '../helpers/sessions-api.js';
import { waitUntil } from '../helpers/wait.js';

/** A client of `token` from `address` (behind the proxy the node trusts: TRUST_PROXY). */
const from = (address: string, token: string): ClientOptions => ({
  token,
  extraHeaders: { 'x-forwarded-for': `${address}, 10.0.0.1` },
});

describe('connection limits', () => {
  let node: NodeProcess;
  beforeAll(async () => {
    const prefix = uniquePrefix('limits');
    dropPrefixAfterwards(prefix);
    node = await startNode({
      redisUrl: SHARED_REDIS_URL,
      prefix,
      env: {
        MAX_CONNECTIONS: '4',
        MAX_CONNECTIONS_PER_IP: '2',
        MAX_CONNECTIONS_PER_TOKEN: '1',
        TRUST_PROXY: 'true',
      },
    });
  });

  it('refuses a handshake over each limit with connect_error too_many_connections, and frees slots', async () => {
    const first = await connectClient(node.url, from('1.1.1.1', 'alice'));
    // per token: alice again, from elsewhere
    expect((await connectError(node.url, from('2.2.2.2', 'alice'))).message).toBe('too_many_connections');
    // per address: a second one from 1.1.1.1 is fine, a third is not
    await connectClient(node.url, from('1.1.1.1', 'bob'));
    expect((await connectError(node.url, from('1.1.1.1', 'carol'))).message).toBe('too_many_connections');
    // per node: four in all
    await connectClient(node.url, from('3.3.3.3', 'carol'));
    await connectClient(node.url, from('4.4.4.4', 'dave'));
    expect((await connectError(node.url, from('5.5.5.5', 'erin'))).message).toBe('too_many_connections');
    // a refused handshake opened no session
    expect((await getSession(node.url, 'erin')).status).toBe(404);
    const alice = await sessionWhere(node.url, 'alice', (s) => s.connections.length === 1);
    expect(alice.connections[0]!.id).toBe(first.id);

    // a closed connection gives its slots back (node, address and token)
    first.disconnect();
    const again = await waitUntil(
      () => connectClient(node.url, from('1.1.1.1', 'alice')).catch(() => undefined),
      { timeout: 5000, interval: 100, message: 'alice admitted again' },
    );
    expect(again.connected).toBe(true);
    expect(node.proc.exitCode).toBeNull();
  });
});
