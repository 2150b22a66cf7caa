import type { StoreContext } from '../context.js';
import { storeDefaults } from '../defaults.js';
import type { PushResult } from '../messages/push.js';
import { pushResult } from '../messages/push.js';
import { GroupScripts } from '../scripts/group-scripts.js';
import { StoreError, StoreErrorCode } from '../errors.js';
import { decodeCursor, encodeCursor } from '../sessions/cursor.js';

/** What a join answers: a member now (`joined`, or already `member`), or why not. */
export type JoinResult = 'joined' | 'member' | 'no_session' | 'too_many_groups' | 'group_full';

/** What a leave answers. */
export type LeaveResult = 'left' | 'not_member' | 'no_session';

/** A group push as the store takes it: the data as canonical JSON text, the push's id its members' ids derive from. */
export interface GroupPushInput {
  group: string;
  text: string;
  id: string;
  ttlMs: number;
}

/** One member's message of a group push. */
export interface GroupMemberResult {
  token: string;
  result: PushResult;
}

const joins: Record<number, JoinResult> = {
  1: 'joined',
  2: 'member',
  0: 'no_session',
  [-6]: 'too_many_groups',
  [-7]: 'group_full',
};
const leaves: Record<number, LeaveResult> = { 1: 'left', 2: 'not_member', 0: 'no_session' };

/**
 * Named groups of sessions (CONTRACT.md §10). A group's members are kept per bucket, beside their sessions
 * (`<tag>:gm:<group>`), and a session's groups beside it (`<tag>:sg:<token>`): joining checks that the session
 * lives, and its end removes its memberships in the same script (end-session.lua), so a group never names an
 * ended session. A group push stores one message per member with push.lua's own code (push-group-1.lua): one call
 * per bucket (per `groupPushPage` members), each member its own id, seq and receipt.
 */
export class Groups {
  readonly #scripts: GroupScripts;

  constructor(private readonly ctx: StoreContext) {
    this.#scripts = new GroupScripts(ctx.redis);
  }

  /** Makes `token`'s live session a member of `group` until it ends. Safe to repeat. */
  async join(token: string, group: string): Promise<JoinResult> {
    const max = storeDefaults.maxGroupSize;
    // Each bucket holds its share; with several, the group's whole size is checked first (not atomic with the
    // join: joins racing in several buckets may pass the bound by the joins in flight).
    if (this.ctx.keys.bucketCount > 1 && (await this.size(group)) >= max) {
      const member = await this.ctx.redis.zscore(
        this.ctx.keys.groupMembers(this.ctx.keys.bucketOf(token), group),
        token,
      );
      if (member === null) return 'group_full';
    }
    const k = this.ctx.keys.session(token);
    const code = await this.#scripts.join(k, {
      token,
      group,
      maxGroups: storeDefaults.maxGroupsPerSession,
      maxMembers: max,
    });
    return joins[code] ?? 'no_session';
  }

  /** Ends `token`'s membership of `group`. Safe to repeat. */
  async leave(token: string, group: string): Promise<LeaveResult> {
    const code = await this.#scripts.leave(this.ctx.keys.session(token), { token, group });
    return leaves[code] ?? 'no_session';
  }

  /** The groups of `token`'s session, in no order (none once it ended). */
  groupsOf(token: string): Promise<string[]> {
    return this.ctx.redis.smembers(this.ctx.keys.sessionGroups(token));
  }

  /** How many sessions are members of `group`, cluster-wide. */
  async size(group: string): Promise<number> {
    const { keys, redis } = this.ctx;
    const counts = await Promise.all(
      Array.from({ length: keys.bucketCount }, (_, b) => redis.zcard(keys.groupMembers(b, group))),
    );
    return counts.reduce((a, c) => a + c, 0);
  }

  /**
   * A page of a group's members, cluster-wide: bucket by bucket in token order, so every member that stays one
   * is listed exactly once over the pages. @throws RangeError for a cursor this cluster did not make
   */
  async members(
    group: string,
    options: { cursor?: string | null; limit?: number } = {},
  ): Promise<{ tokens: string[]; next: string | null }> {
    const { keys, redis } = this.ctx;
    const limit = Math.min(Math.max(1, options.limit ?? storeDefaults.pageSize), storeDefaults.maxPageSize);
    let [bucket, after] = decodeCursor(options.cursor, keys.bucketCount);
    const tokens: string[] = [];
    while (bucket < keys.bucketCount && tokens.length < limit) {
      const want = limit - tokens.length;
      const min = after === '' ? '-' : `(${after}`;
      const page = await redis.zrangebylex(keys.groupMembers(bucket, group), min, '+', 'LIMIT', 0, want);
      tokens.push(...page);
      if (page.length < want) [bucket, after] = [bucket + 1, ''];
      else after = page[page.length - 1] ?? '';
    }
    return { tokens, next: bucket >= keys.bucketCount ? null : encodeCursor(bucket, after) };
  }

  /**
   * Stores one message for every member of `group`: bucket by bucket, a page of `groupPushPage` members per call
   * (the buckets at once). A session that is a member for the whole call gets exactly one message, also when the
   * call is retried with the same id; one that joins or leaves while it runs may or may not.
   */
  async push(input: GroupPushInput): Promise<GroupMemberResult[]> {
    const { keys } = this.ctx;
    const pages = await Promise.all(
      Array.from({ length: keys.bucketCount }, (_, b) => this.#pushBucket(b, input)),
    );
    return pages.flat();
  }

  async #pushBucket(bucket: number, input: GroupPushInput): Promise<GroupMemberResult[]> {
    const { keys, maxPending, replicaAcks, replicaTimeoutMs, status } = this.ctx;
    const b = keys.bucket(bucket);
    const span = storeDefaults.inboxSpanFactor * maxPending;
    const limits = { ...status, cap: maxPending, outboxMax: storeDefaults.maxOutboxEntries, span };
    const wait = replicaAcks > 0 ? { replicas: replicaAcks, timeoutMs: replicaTimeoutMs } : undefined;
    const out: GroupMemberResult[] = [];
    let after = '';
    do {
      const page = await this.#scripts.push(
        b,
        {
          group: input.group,
          base: input.id,
          ttlMs: input.ttlMs,
          text: input.text,
          after,
          limit: storeDefaults.groupPushPage,
        },
        { ...limits, scan: span + maxPending },
        wait,
      );
      if (wait && (page.replicas ?? 0) < wait.replicas)
        throw new StoreError(
          StoreErrorCode.NotReplicated,
          `the group push reached ${page.replicas ?? 0} of ${wait.replicas} replicas in time`,
        );
      for (const m of page.members) out.push({ token: m.token, result: pushResult(m, m, page.now) });
      after = page.last;
    } while (after !== '');
    return out;
  }
}
