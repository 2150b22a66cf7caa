import { randomBytes } from 'node:crypto';
import type { StoreContext } from '../context.js';
import { canonicalJson } from '../json.js';
import type { PushReply } from '../scripts/scripts.js';

export interface PushInput {
  token: string;
  data: unknown;
  /** Message id; generated when absent. Pushing the same id again is a no-op that returns the same message. */
  id?: string;
  ttlMs: number;
}

export type PushResult =
  | { stored: true; duplicate: boolean; id: string; ts: number; connections: number }
  | { stored: false; reason: 'no_session' | 'id_conflict' };

function pushResult(reply: PushReply, id: string): PushResult {
  if (reply.code === 0) return { stored: false, reason: 'no_session' };
  if (reply.code < 0) return { stored: false, reason: 'id_conflict' };
  return { stored: true, duplicate: reply.code === 2, id, ts: reply.ts, connections: reply.connections };
}

/** Storing pushes: a message is stored for a live session before anything is sent (push.lua, push-many.lua). */
export class Pushes {
  constructor(private readonly ctx: StoreContext) {}

  /** Message ids carry their bucket so that a status lookup finds the message in one read. */
  newMessageId(token: string): string {
    return `${this.ctx.keys.bucketOf(token).toString(36)}.${randomBytes(12).toString('base64url')}`;
  }

  async push(input: PushInput): Promise<PushResult> {
    const { keys, scripts } = this.ctx;
    const k = keys.session(input.token);
    const id = input.id ?? this.newMessageId(input.token);
    // WAIT goes to the node that ran the script (a pipeline stays on one node, also on a Cluster): the push is
    // acknowledged only once replicas have it, so a failover right after cannot lose it.
    const wait =
      this.ctx.replicaAcks > 0
        ? { replicas: this.ctx.replicaAcks, timeoutMs: this.ctx.replicaTimeoutMs }
        : undefined;
    const reply = await scripts.push(
      { session: k.session, inbox: k.inbox, message: k.messagePrefix + id, stats: k.stats },
      {
        token: input.token,
        id,
        data: canonicalJson(input.data),
        ttlMs: input.ttlMs,
        retentionMs: this.ctx.statusRetentionMs,
        messagePrefix: k.messagePrefix,
      },
      wait,
    );
    return pushResult(reply, id);
  }

  /**
   * Stores many messages: one script call per bucket (what a batch job costs), each message exactly as `push`
   * stores it. Results in the order of `inputs`.
   */
  async pushMany(inputs: PushInput[]): Promise<PushResult[]> {
    if (this.ctx.replicaAcks > 0) return Promise.all(inputs.map((input) => this.push(input)));
    const ids = inputs.map((input) => input.id ?? this.newMessageId(input.token));
    const groups = new Map<number, number[]>();
    inputs.forEach((input, i) => {
      const b = this.ctx.keys.bucketOf(input.token);
      const group = groups.get(b) ?? [];
      group.push(i);
      groups.set(b, group);
    });
    const results: PushResult[] = new Array<PushResult>(inputs.length);
    await Promise.all(
      [...groups].map(async ([bucket, members]) => {
        const b = this.ctx.keys.bucket(bucket);
        const replies = await this.ctx.scripts.pushMany(b, {
          tag: b.tag,
          retentionMs: this.ctx.statusRetentionMs,
          messages: members.map((i) => ({
            token: (inputs[i] as PushInput).token,
            id: ids[i] as string,
            data: canonicalJson((inputs[i] as PushInput).data),
            ttlMs: (inputs[i] as PushInput).ttlMs,
          })),
        });
        members.forEach((i, n) => {
          results[i] = pushResult(replies[n] as PushReply, ids[i] as string);
        });
      }),
    );
    return results;
  }
}
