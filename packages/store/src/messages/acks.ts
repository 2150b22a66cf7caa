import type { StoreContext } from '../context.js';
import { storeDefaults } from '../defaults.js';
import { StoreErrorCode } from '../errors.js';
import { canonicalJson, parseJson } from '../json.js';
import type { AckReply } from '../scripts/scripts.js';
import type { OutboxItem } from '../types.js';

export interface AckInput {
  token: string;
  nodeId: string;
  socketId: string;
}

export type ReceiptItem = Extract<OutboxItem, { kind: 'receipt' }>;

export type AckResult =
  | { settled: true; duplicate: true; id: string; deliveredAt: number }
  | {
      settled: true;
      duplicate: false;
      id: string;
      deliveredAt: number;
      pushedAt: number;
      receipt: ReceiptItem;
    }
  | { settled: false; code: StoreErrorCode };

interface QueuedAck {
  id: string;
  input: AckInput;
  resolve: (r: AckResult) => void;
  reject: (e: unknown) => void;
}

function receiptItem(
  where: { bucket: number; entryId: string },
  id: string,
  input: AckInput,
  settled: { data: unknown; at: number },
): ReceiptItem {
  const { token, nodeId, socketId } = input;
  return {
    kind: 'receipt',
    ...where,
    receipt: { id, token, data: settled.data, deliveredAt: settled.at, nodeId, socketId },
  };
}

/**
 * Settling acknowledged messages: the first acknowledgement of a message settles it and appends its one
 * receipt to the bucket outbox in the same script (lua/includes/settle.lua); later ones are duplicates.
 */
export class Acks {
  #queue: QueuedAck[] = [];

  constructor(private readonly ctx: StoreContext) {}

  /**
   * Settles a message acknowledged by id. Acknowledgements made in the same event-loop turn are settled
   * together, one script call per bucket (`ack-many.lua`); each exactly as `ack.lua` would.
   */
  ack(id: string, input: AckInput): Promise<AckResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id, input, resolve, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  /** The seed's receipt: settles the oldest pending message of the session whose data equals `data`. */
  async ackByData(data: unknown, input: AckInput): Promise<AckResult> {
    const k = this.ctx.keys.session(input.token);
    const settled = await this.ctx.scripts.ackByData(k, {
      data: canonicalJson(data),
      nodeId: input.nodeId,
      socketId: input.socketId,
      retentionMs: this.ctx.statusRetentionMs,
      messagePrefix: k.messagePrefix,
      scan: storeDefaults.ackByDataScan,
    });
    if (!settled) return { settled: false, code: StoreErrorCode.UnknownMessage };
    return {
      settled: true,
      duplicate: false,
      id: settled.id,
      deliveredAt: settled.deliveredAt,
      pushedAt: settled.pushedAt,
      receipt: receiptItem({ bucket: k.bucket, entryId: settled.entry }, settled.id, input, {
        data,
        at: settled.deliveredAt,
      }),
    };
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    const groups = new Map<number, QueuedAck[]>();
    for (const ack of batch) {
      const b = this.ctx.keys.bucketOf(ack.input.token);
      const group = groups.get(b) ?? [];
      group.push(ack);
      groups.set(b, group);
    }
    for (const [bucket, group] of groups) {
      this.#settle(bucket, group).then(
        (replies) => group.forEach((a, n) => a.resolve(this.#result(bucket, a, replies[n] as AckReply))),
        (err: unknown) => group.forEach((a) => a.reject(err)),
      );
    }
  }

  #settle(bucket: number, group: QueuedAck[]): Promise<AckReply[]> {
    const b = this.ctx.keys.bucket(bucket);
    const retentionMs = this.ctx.statusRetentionMs;
    const [only] = group;
    if (group.length === 1 && only) {
      return this.ctx.scripts
        .ack(
          { message: b.messagePrefix + only.id, inbox: `${b.tag}:q:${only.input.token}`, ...b },
          { id: only.id, ...only.input, retentionMs },
        )
        .then((reply) => [reply]);
    }
    return this.ctx.scripts.ackMany(b, {
      tag: b.tag,
      retentionMs,
      acks: group.map((a) => ({ id: a.id, ...a.input })),
    });
  }

  #result(bucket: number, ack: QueuedAck, reply: AckReply): AckResult {
    if (reply.code < 0) return { settled: false, code: reply.code as StoreErrorCode };
    if (reply.code === 0)
      return { settled: true, duplicate: true, id: ack.id, deliveredAt: reply.deliveredAt };
    return {
      settled: true,
      duplicate: false,
      id: ack.id,
      deliveredAt: reply.deliveredAt,
      pushedAt: reply.pushedAt,
      receipt: receiptItem({ bucket, entryId: reply.entry }, ack.id, ack.input, {
        data: parseJson(reply.data),
        at: reply.deliveredAt,
      }),
    };
  }
}
