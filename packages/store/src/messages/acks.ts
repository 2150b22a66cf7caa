import type { StoreContext } from '../context.js';
import { storeDefaults } from '../defaults.js';
import { StoreErrorCode } from '../errors.js';
import type { AckReply } from '../scripts/scripts.js';
import type { OutboxItem, Receipt } from '../types.js';
import { GroupCommit } from './group-commit.js';
import { withGroup } from './message-ids.js';

/** Who acknowledges what: a message the node sent to one of its sockets (it knows the message's seq and data). */
export interface AckInput {
  token: string;
  seq: number;
  id: string;
  /** The message's data: what the in-process receipt carries (the queued one is built from the stored text). */
  data: unknown;
  nodeId: string;
  socketId: string;
}

export type ReceiptsItem = Extract<OutboxItem, { kind: 'receipts' }>;

export type AckResult =
  | { settled: true; duplicate: boolean; id: string; deliveredAt: number }
  | { settled: false; code: StoreErrorCode };

interface Queued {
  input: AckInput;
  head: string;
}

function receiptHead(id: string | undefined, input: Omit<AckInput, 'seq' | 'id' | 'data'>): string {
  const idPart = id === undefined ? '' : `"id":${JSON.stringify(id)},`;
  return `{${idPart}"token":${JSON.stringify(input.token)},"nodeId":${JSON.stringify(input.nodeId)},"socketId":${JSON.stringify(input.socketId)}`;
}

function receiptOf(input: AckInput, deliveredAt: number): Receipt {
  const { id, token, nodeId, socketId, data } = input;
  return withGroup({ id, token, data, deliveredAt, nodeId, socketId });
}

function ackResult(id: string, reply: AckReply): AckResult {
  if (reply.code === 1 || reply.code === 0)
    return { settled: true, duplicate: reply.code === 0, id, deliveredAt: reply.at };
  return { settled: false, code: reply.code as StoreErrorCode };
}

/**
 * Settling acknowledged messages: the first acknowledgement of a message settles it and appends its one receipt to
 * the outbox in the same script (ack.lua); later ones are duplicates. Acknowledgements that arrive within
 * `ackWindowMs` are settled together (one call per bucket on a Cluster, one for all on a single Redis), and the
 * receipts of a call form one outbox entry: one `receipts` job. `onReceipts` hears of every such entry.
 */
export class Acks {
  readonly #commit: GroupCommit<Queued, AckResult>;
  /** Called with each outbox entry of receipts this node's acknowledgements produced. */
  onReceipts: (item: ReceiptsItem) => void = () => undefined;

  constructor(private readonly ctx: StoreContext) {
    this.#commit = new GroupCommit({
      bucketOf: (q) => ctx.keys.bucketOf(q.input.token),
      clustered: ctx.clustered,
      maxPerCall: storeDefaults.maxPerCall,
      windowMs: storeDefaults.ackWindowMs,
      run: (groups) => this.#settle(groups),
    });
  }

  /** Settles a message acknowledged by id (and seq, which the node that sent it knows). */
  ack(input: AckInput): Promise<AckResult> {
    return this.#commit.submit({ input, head: receiptHead(input.id, input) });
  }

  /** Settles several acknowledged messages (one frame's): results in the order given. */
  ackMany(inputs: readonly AckInput[]): Promise<AckResult[]> {
    return this.#commit.submitMany(inputs.map((input) => ({ input, head: receiptHead(input.id, input) })));
  }

  /**
   * The fallback of the seed's receipt, when the node could not match it to a message it sent: settles the oldest
   * pending message of the session whose data equals `text` — bounded work, and a budget per session.
   */
  async ackByData(text: string, input: Omit<AckInput, 'seq' | 'id' | 'data'>): Promise<AckResult> {
    const k = this.ctx.keys.session(input.token);
    const found = await this.ctx.scripts.ackByData(
      k,
      {
        token: input.token,
        text,
        head: receiptHead(undefined, input),
        scan: storeDefaults.ackByDataScan,
        ratePerSec: storeDefaults.ackByDataPerSec,
      },
      this.ctx.status,
    );
    if (found === 'budget') return { settled: false, code: StoreErrorCode.RateLimited };
    if (found === 'none') return { settled: false, code: StoreErrorCode.UnknownMessage };
    const full: AckInput = { ...input, seq: found.seq, id: found.id, data: JSON.parse(text) as unknown };
    this.onReceipts({
      kind: 'receipts',
      bucket: k.bucket,
      entryId: found.entry,
      receipts: [receiptOf(full, found.at)],
    });
    return { settled: true, duplicate: false, id: found.id, deliveredAt: found.at };
  }

  async #settle(groups: { bucket: number; items: Queued[] }[]): Promise<AckResult[][]> {
    const calls = groups.map((g) => {
      const b = this.ctx.keys.bucket(g.bucket);
      const acks = g.items.map((q) => ({
        token: q.input.token,
        seq: q.input.seq,
        id: q.input.id,
        head: q.head,
      }));
      return { tag: b.tag, route: b.route, acks };
    });
    const { entry, replies } = await this.ctx.scripts.ack(calls, this.ctx.status);
    const receipts: Receipt[] = [];
    let at = 0;
    const results = groups.map((g) =>
      g.items.map((q) => {
        const reply = replies[at++] as AckReply;
        if (reply.code === 1) receipts.push(receiptOf(q.input, reply.at));
        return ackResult(q.input.id, reply);
      }),
    );
    const bucket = groups[0]?.bucket ?? 0;
    if (entry) this.onReceipts({ kind: 'receipts', bucket, entryId: entry, receipts });
    return results;
  }
}
