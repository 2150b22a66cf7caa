/**
 * Every Redis key of the worker is built here and nowhere else.
 *
 *   <prefix>:{<prefix>.job.<s>}:<scope>:<jobId>   string   dedupe marker of one job for one handler
 *
 * A marker lives while its job is in flight: `p:<run token>` while a run hands the job's items to the handler,
 * `done` once the handler resolved, deleted when the job completed (job-markers.ts). `<s>` is one of
 * {@link MARKER_SHARDS} shards chosen by the FNV-1a hash of the job id: one hash tag for all markers would put
 * every job of the cluster on one slot (one hot Redis Cluster node), while the markers of one job share a slot,
 * so that one command deletes them all. Our own tag, rather than none, keeps the placement ours even when a job
 * id contains `{…}` itself. `<scope>` names the handler (and so the queue) the marker is for, so that each
 * handler gets each job's items once even when an app registers both the per-item and the batch handler.
 * `<jobId>` is the job's id, followed by `@<tag>` of its queue shard for every shard but 0 ({@link markerIdOf}):
 * BullMQ numbers the jobs of each queue from 1, so two shards hold jobs of the same id.
 */
import { fnv1a } from '@io-session/store';

/** How many hash slots the dedupe markers are spread over. */
export const MARKER_SHARDS = 16;

/** Which handler a dedupe marker (and a job's recorded progress) is for. */
export type HandlerScope = 'onMessageDelivered' | 'onReceipts' | 'connectionListener' | 'onSessionEvents';

const scopeCode: Record<HandlerScope, string> = {
  onMessageDelivered: 'r',
  onReceipts: 'rb',
  connectionListener: 'e',
  onSessionEvents: 'eb',
};

/** Builds the dedupe-marker keys of one key prefix. */
export class JobMarkerKeys {
  constructor(
    readonly prefix: string,
    readonly shards: number = MARKER_SHARDS,
  ) {}

  shardOf(jobId: string): number {
    return fnv1a(jobId) % this.shards;
  }

  /** The marker of one job (its BullMQ job id) for one handler. */
  marker(scope: HandlerScope, jobId: string): string {
    return `${this.prefix}:{${this.prefix}.job.${this.shardOf(jobId)}}:${scopeCode[scope]}:${jobId}`;
  }

  /** The id a job's markers go by: its job id, and for a queue shard other than 0 that shard's hash tag. */
  markerIdOf(job: { id?: string | undefined; prefix: string }): string {
    const id = job.id ?? '';
    return job.prefix === `{${this.prefix}}` ? id : `${id}@${job.prefix.replace(/[{}]/g, '')}`;
  }

  /** Every key the worker writes under the prefix matches this (for SCAN). */
  get pattern(): string {
    return `${this.prefix}:{${this.prefix}.job.*`;
  }
}
