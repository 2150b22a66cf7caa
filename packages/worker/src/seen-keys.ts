/**
 * Every Redis key of the worker is built here and nowhere else.
 *
 *   <prefix>:{<prefix>.seen.<s>}:<scope>:<itemId>   string   seen marker of one item for one handler
 *
 * `<s>` is one of {@link SEEN_SHARDS} shards chosen by the FNV-1a hash of the item id. One hash tag for all
 * markers would put every receipt of the cluster on one slot (one hot Redis Cluster node); our own tag, rather
 * than none, keeps the placement ours even when an app's message id contains `{…}` itself. `<scope>` names
 * the handler the marker is for, so that each handler sees each item once even when an app registers both
 * the per-item and the batch handler of a queue.
 */
import { fnv1a } from '@io-session/store';

/** How many hash slots the seen markers are spread over. Changing it forgets every marker. */
export const SEEN_SHARDS = 16;

/** Which handler a seen marker is for. */
export type SeenScope = 'onMessageDelivered' | 'onReceipts' | 'connectionListener' | 'onSessionEvents';

const scopeCode: Record<SeenScope, string> = {
  onMessageDelivered: 'r',
  onReceipts: 'rb',
  connectionListener: 'e',
  onSessionEvents: 'eb',
};

/** Builds the seen-marker keys of one key prefix. */
export class SeenKeys {
  constructor(
    readonly prefix: string,
    readonly shards: number = SEEN_SHARDS,
  ) {}

  shardOf(itemId: string): number {
    return fnv1a(itemId) % this.shards;
  }

  /** The marker of one item (a receipt's message id, or `<type>-<sid>` of a session event) for one handler. */
  marker(scope: SeenScope, itemId: string): string {
    return `${this.prefix}:{${this.prefix}.seen.${this.shardOf(itemId)}}:${scopeCode[scope]}:${itemId}`;
  }
}
