import { randomBytes } from 'node:crypto';
import type { StoreContext } from '../context.js';
import { storeDefaults } from '../defaults.js';
import { StoreError, StoreErrorCode } from '../errors.js';
import type { PushMessageArgs, PushReply } from '../scripts/scripts.js';
import { GroupCommit } from './group-commit.js';

export interface PushInput {
  token: string;
  /** The data as canonical JSON text (`canonicalJson`). */
  text: string;
  /** Message id; generated when absent. Pushing the same id again stores nothing twice. */
  id?: string;
  ttlMs: number;
}

export type PushRefusal = 'no_session' | 'id_conflict' | 'inbox_full' | 'backlog';

export type PushResult =
  | {
      stored: true;
      /** Stored before under this id (a retried call or job): not stored again. */
      duplicate: boolean;
      id: string;
      /** Its number in the session; 0 for a duplicate of a message already settled (nothing left to send). */
      seq: number;
      /** When it was stored (Redis clock, ms). */
      ts: number;
      /** The node instances holding the session's connections: where to route it. */
      holders: string[];
      /** How many connections the session has. */
      connections: number;
    }
  | { stored: false; reason: PushRefusal };

interface Queued {
  input: PushInput;
  id: string;
  maySettled: boolean;
}

export const refusals: Record<number, PushRefusal> = {
  0: 'no_session',
  [-2]: 'id_conflict',
  [-4]: 'inbox_full',
  [-5]: 'backlog',
};

/** "inst:n,inst:n" → the instances and the sum of their connections. */
export function holdersOf(text: string): { holders: string[]; connections: number } {
  const holders: string[] = [];
  let connections = 0;
  if (text !== '')
    for (const entry of text.split(',')) {
      const colon = entry.lastIndexOf(':');
      holders.push(entry.slice(0, colon));
      connections += Number(entry.slice(colon + 1));
    }
  return { holders, connections };
}

/** What a push-1 or push-group-1 reply says of one message. */
export function pushResult(q: { id: string }, reply: PushReply, now: number): PushResult {
  if (reply.code >= 1) {
    const { code, seq } = reply;
    return { stored: true, duplicate: code > 1, id: q.id, seq, ts: now, ...holdersOf(reply.holders) };
  }
  return { stored: false, reason: refusals[reply.code] ?? 'no_session' };
}

/**
 * Storing pushes: a message is stored for a live session before anything is sent (push.lua). Pushes made in the
 * same event-loop turn — the messages of concurrent jobs and requests — are stored together: one script call per
 * bucket on a Redis Cluster, one for all on a single Redis, each bucket's writes one command per structure.
 */
export class Pushes {
  readonly #commit: GroupCommit<Queued, PushResult>;

  constructor(private readonly ctx: StoreContext) {
    this.#commit = new GroupCommit({
      bucketOf: (q) => ctx.keys.bucketOf(q.input.token),
      clustered: ctx.clustered,
      maxPerCall: storeDefaults.maxPerCall,
      windowMs: 0,
      run: (groups) => this.#store(groups),
    });
  }

  /** Message ids carry their bucket so that a status lookup finds the message in one read. */
  newMessageId(token: string): string {
    return `${this.ctx.keys.bucketOf(token).toString(36)}.${randomBytes(12).toString('base64url')}`;
  }

  /** Stores messages; results in the order given. */
  push(inputs: readonly PushInput[]): Promise<PushResult[]> {
    return this.#commit.submitMany(
      inputs.map((input) => ({
        input,
        id: input.id ?? this.newMessageId(input.token),
        maySettled: input.id !== undefined,
      })),
    );
  }

  async #store(groups: { bucket: number; items: Queued[] }[]): Promise<PushResult[][]> {
    const { keys, maxPending } = this.ctx;
    const span = storeDefaults.inboxSpanFactor * maxPending;
    const limits = { ...this.ctx.status, cap: maxPending, outboxMax: storeDefaults.maxOutboxEntries, span };
    const wait =
      this.ctx.replicaAcks > 0
        ? { replicas: this.ctx.replicaAcks, timeoutMs: this.ctx.replicaTimeoutMs }
        : undefined;
    const calls = groups.map((g) => {
      const b = keys.bucket(g.bucket);
      const messages: PushMessageArgs[] = g.items.map((q) => ({
        token: q.input.token,
        id: q.id,
        ttlMs: q.input.ttlMs,
        maySettled: q.maySettled,
        text: q.input.text,
      }));
      return { tag: b.tag, route: b.route, messages };
    });
    const { now, replies, replicas } = await this.ctx.scripts.push(
      calls,
      { ...limits, scan: span + maxPending },
      wait,
    );
    if (wait && (replicas ?? 0) < wait.replicas) {
      throw new StoreError(
        StoreErrorCode.NotReplicated,
        `the push reached ${replicas ?? 0} of ${wait.replicas} replicas in time`,
      );
    }
    let at = 0;
    return groups.map((g) => g.items.map((q) => pushResult(q, replies[at++] as PushReply, now)));
  }
}
