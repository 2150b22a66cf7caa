import type { RedisClient } from '../redis.js';

type Arg = string | number;

/** Replicas a write must reach (Redis `WAIT`) before it counts, and how long to wait for them. */
export interface ReplicaWait {
  replicas: number;
  timeoutMs: number;
}

/**
 * Runs one script command, followed by `WAIT` in the same pipeline when `wait` is given (the pipeline runs on the
 * node that ran the script). @returns the script's reply and, with `wait`, how many replicas have the write.
 */
export async function runScript<T>(
  redis: RedisClient,
  command: string,
  args: Arg[],
  wait?: ReplicaWait,
): Promise<{ reply: T; replicas?: number }> {
  if (!wait) {
    const run = (redis as unknown as Record<string, (...a: Arg[]) => Promise<unknown>>)[command];
    return { reply: (await run?.call(redis, ...args)) as T };
  }
  const pipeline = redis.pipeline() as unknown as Record<string, (...a: Arg[]) => unknown> & {
    wait(n: number, ms: number): unknown;
    exec(): Promise<[Error | null, unknown][] | null>;
  };
  pipeline[command]?.call(pipeline, ...args);
  pipeline.wait(wait.replicas, wait.timeoutMs);
  const results = (await pipeline.exec()) ?? [];
  const [err, value] = results[0] ?? [new Error('no reply'), null];
  if (err) throw err;
  return { reply: value as T, replicas: Number(results[1]?.[1] ?? 0) };
}
