import { queuePrefixes, queueShardsOf } from '@io-session/worker';
import type { Cluster, Redis } from 'ioredis';
import { deferCleanup } from './cleanup.js';
import { connectRedis, primariesOf } from './redis-client.js';

/** A job of the `session-events` queue (CONTRACT §6). */
export interface SessionEventJobData {
  type: 'session.started' | 'session.ended';
  token: string;
  id: string;
  status: 0 | 1;
  at: number;
  sid?: string;
  reason?: string;
}

/**
 * Reads the `session-events` BullMQ queue of a key prefix (nodes relay every session start and end there,
 * CONTRACT §6): what a test that cannot listen inside node processes can count. Reads the job hashes directly
 * (`{<prefix>}:session-events:<jobId>` and the other queue shards'), whatever state the jobs are in, so no worker needs to run. The shared
 * URL means the shared Redis Cluster with `TEST_REDIS=cluster`.
 */
export class SessionEventsQueue {
  readonly #redis: Redis | Cluster;

  constructor(
    url: string,
    readonly prefix: string,
  ) {
    this.#redis = connectRedis(url, { maxRetriesPerRequest: 1 });
    this.#redis.on('error', () => undefined);
    deferCleanup(() => this.#redis.quit().catch(() => this.#redis.disconnect()));
  }

  /** Every job's data, optionally only one token's, oldest first (from every queue shard). */
  async events(token?: string): Promise<SessionEventJobData[]> {
    const found: SessionEventJobData[] = [];
    const shards = await queueShardsOf(this.#redis, this.prefix);
    for (const shardPrefix of queuePrefixes(this.prefix, shards))
      found.push(...(await this.#eventsOf(`${shardPrefix}:session-events:`, token)));
    return found.sort((a, b) => a.at - b.at);
  }

  async #eventsOf(base: string, token: string | undefined): Promise<SessionEventJobData[]> {
    const found: SessionEventJobData[] = [];
    for (const server of await primariesOf(this.#redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await server.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
        cursor = next;
        const jobKeys = keys.filter((k) => !k.slice(base.length).includes(':'));
        const types = await Promise.all(jobKeys.map((k) => this.#redis.type(k)));
        const hashes = jobKeys.filter((_, i) => types[i] === 'hash');
        const datas = await Promise.all(hashes.map((k) => this.#redis.hget(k, 'data')));
        for (const data of datas) {
          if (!data) continue;
          const event = JSON.parse(data) as SessionEventJobData;
          if (token === undefined || event.token === token) found.push(event);
        }
      } while (cursor !== '0');
    }
    return found;
  }

  async ended(token: string): Promise<SessionEventJobData[]> {
    return (await this.events(token)).filter((e) => e.type === 'session.ended');
  }

  async started(token: string): Promise<SessionEventJobData[]> {
    return (await this.events(token)).filter((e) => e.type === 'session.started');
  }
}
