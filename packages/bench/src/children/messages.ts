import type { LoadResult, LoadSpec } from '../load/pacer.js';

/**
 * How a client acknowledges: `v3` is the SDK (`@io-session/client`, `protocol: 3`: `push_batch` frames, one
 * acknowledgement per frame); `v2` joins with `v: 2` and calls the Socket.IO acknowledgement of each push;
 * `legacy` is the seed's wire form (`push_message` carries the data, `push_message_delivery` with
 * `JSON.stringify({ token, data })`), spoken to bare Socket.IO, to io-session-handler and to io-session's
 * legacy path.
 */
export type ClientMode = 'v3' | 'v2' | 'legacy';

/** What a raw `v: 3` probe connection received first: the push event's name and whether it had a callback. */
export interface ProbeResult {
  event: string | null;
  ack: boolean;
  error?: string;
}

export interface SwarmClient {
  token: string;
  url: string;
}

/** Bench → swarm child. */
export type SwarmCommand =
  | { type: 'connect'; group: string; clients: SwarmClient[]; mode: ClientMode; concurrency: number }
  | { type: 'disconnect'; group: string }
  | { type: 'phase'; id: number }
  | { type: 'collect'; id: number }
  | { type: 'probe'; id: number; url: string; token: string; timeoutMs: number };

/** Swarm child → bench. */
export type SwarmEvent =
  | { type: 'ready' }
  | { type: 'progress'; group: string; ok: number; failed: number }
  | { type: 'connected'; group: string; ok: number; failed: number; error?: string }
  | { type: 'disconnected'; group: string }
  | {
      type: 'samples';
      id: number;
      samples: Float64Array;
      received: number;
      dropped: number;
      /** SDK `error` events of the v3 clients by code, since the swarm started. */
      errors: Record<string, number>;
    }
  | { type: 'probe-ready'; id: number }
  | ({ type: 'probed'; id: number } & ProbeResult);

/** Bench → a node-like child (bare node, seed node, BullMQ worker). */
export type TargetCommand = { type: 'load'; spec: LoadSpec } | { type: 'stop' };

/** A node-like child → bench. `delivered` is cumulative. */
export type TargetEvent =
  | { type: 'ready'; port: number }
  | { type: 'delivered'; total: number }
  | { type: 'second'; perSec: number; sent: number; delivered: number }
  | { type: 'window'; edge: 'start' | 'end' }
  | { type: 'loaded'; result: LoadResult }
  | { type: 'error'; message: string };
