import type { ClientMode } from '../children/messages.js';
import type { LoadHooks, LoadResult, LoadSpec } from '../load/pacer.js';
import { systemLabels } from '../report/results.js';

/** Group pushes of a system that has them (CONTRACT.md §10). */
export interface GroupDriver {
  /** Makes the sessions of `tokens` members of `group`. */
  join(group: string, tokens: readonly string[]): Promise<void>;
  /** Enqueues one push to every member of `group`, as a `{ group, data, id }` job. */
  push(group: string, id: string, data: unknown): Promise<void>;
  /** Receipts that reached the bench so far (each member's message has its own). */
  receipts(): number;
}

/** A system that holds client sessions: io-session or one of the Socket.IO baselines. */
export interface SessionSystem {
  readonly name: 'project' | 'bare' | 'seed';
  /** How it is run, in one sentence (goes into the report). */
  readonly setup: string;
  readonly clientMode: ClientMode;
  /** Where clients connect (spread evenly). */
  readonly urls: string[];
  /** The processes holding the connections (their RSS is measured). */
  readonly pids: number[];
  /** Other processes of the system (io-session's worker): their CPU is accounted apart. */
  readonly workerPids?: number[];
  readonly usesRedis: boolean;
  start(): Promise<void>;
  runLoad(spec: LoadSpec, hooks?: LoadHooks): Promise<LoadResult>;
  /**
   * Sessions registered server-side whose token starts with `prefix` (from the `session-events` queue);
   * absent when the system cannot tell, and then a client's `connect` is taken as the end of its connect.
   */
  started?(prefix: string): number;
  ended?(prefix: string): number;
  /** Group pushes (io-session only): what the group-push run drives. */
  readonly groups?: GroupDriver;
  /** Resolves once nothing is left in flight inside the system (queues drained). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** `c3-17` → `c3-`: counters of the bench are kept per token group. */
export function tokenGroup(token: string): string {
  return token.slice(0, token.indexOf('-') + 1);
}

/** `io-session (v3)` for io-session's client kinds, the plain label for the baselines. */
export function labelOf(system: Pick<SessionSystem, 'name' | 'clientMode'>): string {
  const label = systemLabels[system.name];
  return system.name === 'project' ? `${label} (${system.clientMode})` : label;
}
