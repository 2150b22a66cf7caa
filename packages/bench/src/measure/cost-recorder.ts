import { totalCpuUs } from '../harness/proc.js';
import { deltaOf, takeSnapshot, type RedisSnapshot } from '../harness/redis-info.js';
import type { PrivateRedis } from '../harness/redis-server.js';
import type { LoadResult } from '../load/pacer.js';
import type { ProcessCpu, RedisCost } from '../report/results.js';
import { measured } from '../report/stats.js';
import { round } from './context.js';

/** The processes whose CPU time is accounted per message. */
export interface CpuGroups {
  nodes: readonly number[];
  clients: readonly number[];
  /** io-session's `io-session worker`, when it runs. */
  worker?: readonly number[];
}

/**
 * Per-message costs of several runs, from snapshots at the edges of each measured window: Redis INFO (when
 * the system uses Redis) and the CPU time of the system's processes, the client swarm and the bench.
 */
export class CostRecorder {
  readonly commands: number[] = [];
  readonly processed: number[] = [];
  readonly reads: number[] = [];
  readonly cpuUs: number[] = [];
  readonly nodeCpu: number[] = [];
  readonly clientCpu: number[] = [];
  readonly benchCpu: number[] = [];
  readonly workerCpu: number[] = [];
  /** Redis CPU seconds of each primary, summed over the measured windows. */
  readonly #primaryCpuS: number[] = [];
  byCommand: Record<string, number> = {};
  /** Messages delivered over whole runs (warm-up and drain included). */
  delivered = 0;
  #before: { redis: RedisSnapshot | null; cpu: number[] } | undefined;
  #after: { redis: RedisSnapshot | null; cpu: number[] } | undefined;

  constructor(
    private readonly redis: PrivateRedis | null,
    private readonly groups: CpuGroups,
  ) {}

  #cpu(): number[] {
    const usage = process.cpuUsage();
    return [
      totalCpuUs(this.groups.nodes) ?? NaN,
      totalCpuUs(this.groups.clients) ?? NaN,
      usage.user + usage.system,
      this.groups.worker?.length ? (totalCpuUs(this.groups.worker) ?? NaN) : NaN,
    ];
  }

  readonly onWindow = async (edge: 'start' | 'end'): Promise<void> => {
    const cpu = this.#cpu();
    const redis = this.redis ? await takeSnapshot(this.redis) : null;
    if (edge === 'start') this.#before = { redis, cpu };
    else this.#after = { redis, cpu };
  };

  add(result: LoadResult): void {
    this.delivered += result.sent - result.undelivered;
    const n = result.deliveredInWindow;
    const before = this.#before;
    const after = this.#after;
    this.#before = this.#after = undefined;
    if (!before || !after || n <= 0) return;
    const cpu = after.cpu.map((v, i) => (v - (before.cpu[i] ?? NaN)) / n);
    this.nodeCpu.push(cpu[0] ?? NaN);
    this.clientCpu.push(cpu[1] ?? NaN);
    this.benchCpu.push(cpu[2] ?? NaN);
    this.workerCpu.push(cpu[3] ?? NaN);
    if (!before.redis || !after.redis) return;
    const d = deltaOf(before.redis, after.redis);
    d.cpuByPrimary?.forEach((v, i) => (this.#primaryCpuS[i] = (this.#primaryCpuS[i] ?? 0) + v));
    this.commands.push(d.commands / n);
    this.processed.push(d.processed / n);
    this.reads.push(d.reads / n);
    this.cpuUs.push((d.cpuS * 1e6) / n);
    this.byCommand = Object.fromEntries(
      Object.entries(d.byCommand)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 20)
        .map(([k, v]) => [k, round(v / n)]),
    );
  }

  redisCost(): RedisCost | null {
    if (!this.redis) return null;
    return {
      commandsPerMsg: measured(this.commands),
      processedPerMsg: measured(this.processed),
      readsPerMsg: measured(this.reads),
      cpuUsPerMsg: measured(this.cpuUs),
      byCommand: this.byCommand,
      ...(this.#primaryCpuS.length > 1 ? { cpuShareByPrimary: this.#cpuShares(this.redis) } : {}),
    };
  }

  #cpuShares(redis: PrivateRedis): { port: number; share: number }[] {
    const total = this.#primaryCpuS.reduce((a, b) => a + b, 0);
    return this.#primaryCpuS.map((cpuS, i) => ({
      port: redis.primaries[i]?.port ?? 0,
      share: total > 0 ? round(cpuS / total) : 0,
    }));
  }

  processCpu(): ProcessCpu {
    return {
      nodes: measured(this.nodeCpu),
      clients: measured(this.clientCpu),
      bench: measured(this.benchCpu),
      ...(this.groups.worker?.length ? { worker: measured(this.workerCpu) } : {}),
    };
  }
}
