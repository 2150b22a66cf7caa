import type { RedisClient } from '../redis.js';
import type { PushReply, StatusArgs } from './scripts.js';
import { runScript, type ReplicaWait } from './replica-wait.js';

type Arg = string | number;
type Reply = (string | number)[];

/** One member's message of a push-group call. */
export interface GroupMemberReply extends PushReply {
  token: string;
  id: string;
}

/** The push settings push-1 and push-group-1 share. */
export type PushLimits = StatusArgs & { cap: number; outboxMax: number; span: number; scan: number };

/**
 * The typed façade of the group scripts (lua/join-group-1, leave-group-1, push-group-1): arguments in, as the
 * file headers list them, decoded reply out. Nothing else happens here.
 */
export class GroupScripts {
  constructor(private readonly redis: RedisClient) {}

  /** @returns 1 joined, 2 already a member, 0 no live session, -6 too many groups, -7 the group is full. */
  async join(
    k: { session: string; tag: string },
    a: { token: string; group: string; maxGroups: number; maxMembers: number },
  ): Promise<number> {
    const args = [k.session, k.tag, a.token, a.group, a.maxGroups, a.maxMembers];
    return Number((await runScript<number>(this.redis, 'iosJoinGroup', args)).reply);
  }

  /** @returns 1 left, 2 was not a member, 0 no live session. */
  async leave(k: { session: string; tag: string }, a: { token: string; group: string }): Promise<number> {
    const args = [k.session, k.tag, a.token, a.group];
    return Number((await runScript<number>(this.redis, 'iosLeaveGroup', args)).reply);
  }

  /** One page of a group's members in one bucket, each stored its own message (push-group-1.lua). */
  async push(
    k: { route: string; tag: string },
    a: { group: string; base: string; ttlMs: number; text: string; after: string; limit: number },
    limits: PushLimits,
    wait?: ReplicaWait,
  ): Promise<{ now: number; last: string; members: GroupMemberReply[]; replicas?: number }> {
    const args: Arg[] = [k.route, limits.retentionMs, limits.slotMs, limits.cap, limits.outboxMax];
    args.push(limits.span, limits.scan, k.tag, a.group, a.base, a.ttlMs, a.text, a.after, a.limit);
    const { reply, replicas } = await runScript<Reply>(this.redis, 'iosPushGroup', args, wait);
    const members: GroupMemberReply[] = [];
    for (let i = 2; i + 4 < reply.length; i += 5) {
      members.push({
        token: String(reply[i]),
        id: String(reply[i + 1]),
        code: Number(reply[i + 2]),
        seq: Number(reply[i + 3]),
        holders: String(reply[i + 4]),
      });
    }
    return {
      now: Number(reply[0]),
      last: String(reply[1]),
      members,
      ...(replicas !== undefined ? { replicas } : {}),
    };
  }
}
