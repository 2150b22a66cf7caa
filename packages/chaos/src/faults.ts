import { sleep } from '@io-session/devtools';
import type { ChaosRedis } from './cluster/chaos-redis.js';
import type { NodeSlot } from './cluster/node-slot.js';
import type { History } from './history.js';
import type { Random } from './random.js';

/** Every fault the run injects, with its weight in the draw. */
export const FAULT_WEIGHTS = {
  'node-sigkill': 3,
  'node-sigterm': 2,
  'node-sigstop': 2,
  'redis-restart': 2,
  'redis-stall': 2,
  partition: 3,
  'drop-replies': 4,
  'cut-connections': 2,
  latency: 2,
} as const;

export type FaultName = keyof typeof FAULT_WEIGHTS;

export interface FaultSettings {
  history: History;
  random: Random;
  redis: ChaosRedis;
  slots: NodeSlot[];
  heartbeatTtlMs: number;
  redisOutageMs: number;
  gapMs: readonly [number, number];
  /** Only these faults; all by default. */
  only?: readonly FaultName[] | undefined;
}

/** Scripts are what a lost reply or a replay can hurt: the drop targets. */
const SCRIPT_COMMANDS = new Set(['EVALSHA', 'EVAL', 'EVALSHA_RO', 'EVAL_RO', 'FCALL']);

/**
 * Injects one fault at a time, drawn from the seeded stream, until `until`; each fault ends (node restarted,
 * partition healed, Redis back) before the next is drawn, so at most one node is away at once.
 */
export class FaultInjector {
  readonly counts: Record<string, number> = {};

  constructor(private readonly s: FaultSettings) {}

  async run(until: number): Promise<void> {
    while (Date.now() < until) {
      await sleep(this.s.random.range(this.s.gapMs));
      if (Date.now() >= until) break;
      const fault = this.s.random.weighted(this.#weights());
      this.counts[fault] = (this.counts[fault] ?? 0) + 1;
      await this.#inject(fault);
    }
  }

  #weights(): Record<FaultName, number> {
    const only = this.s.only;
    if (!only) return FAULT_WEIGHTS;
    const weights = { ...FAULT_WEIGHTS } as Record<FaultName, number>;
    for (const f of Object.keys(weights) as FaultName[]) if (!only.includes(f)) weights[f] = 0;
    return weights;
  }

  async #inject(fault: FaultName): Promise<void> {
    const { random, slots } = this.s;
    const up = slots.filter((s) => s.up);
    const slot = random.pick(up.length > 0 ? up : slots);
    switch (fault) {
      case 'node-sigkill':
      case 'node-sigterm':
        return this.#restartNode(slot, fault === 'node-sigkill' ? 'SIGKILL' : 'SIGTERM');
      case 'node-sigstop':
        return this.#during(fault, slot.nodeId, this.s.heartbeatTtlMs + random.int(1_000, 3_000), {
          begin: () => slot.stop(),
          end: () => slot.cont(),
        });
      case 'redis-restart':
        return this.#redisRestart();
      case 'redis-stall':
        return this.#during(fault, 'redis', random.int(300, this.s.redisOutageMs), {
          begin: () => this.s.redis.stall(),
          end: () => this.s.redis.resume(),
        });
      case 'partition':
        return this.#partition(slot);
      case 'drop-replies':
        return this.#dropReplies(slot);
      case 'cut-connections':
        this.#record(fault, slot.nodeId, `${slot.proxy.cut()} connections`);
        return;
      case 'latency':
        return this.#during(fault, slot.nodeId, random.int(1_000, 5_000), {
          begin: () => slot.proxy.setLatency(random.int(20, 400)),
          end: () => slot.proxy.setLatency(0),
        });
    }
  }

  async #restartNode(slot: NodeSlot, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const name = signal === 'SIGKILL' ? 'node-sigkill' : 'node-sigterm';
    const target = slot.nodeId;
    this.#record(name, target);
    await slot.end(signal);
    await sleep(this.s.random.int(200, 3_000));
    await slot.start();
    this.s.history.add({ kind: 'fault-end', t: Date.now(), fault: name, target });
  }

  async #redisRestart(): Promise<void> {
    const downMs = this.s.random.int(0, this.s.redisOutageMs);
    this.#record('redis-restart', 'redis', `down ${downMs} ms`);
    await this.s.redis.restart(downMs, sleep);
    this.s.history.add({ kind: 'fault-end', t: Date.now(), fault: 'redis-restart', target: 'redis' });
  }

  async #partition(slot: NodeSlot): Promise<void> {
    const mode = this.s.random.chance(0.5) ? 'hold' : 'refuse';
    const ms = this.s.random.int(500, this.s.heartbeatTtlMs + 3_000);
    await this.#during('partition', slot.nodeId, ms, {
      begin: () => slot.proxy.partition(mode),
      end: () => slot.proxy.heal(),
      detail: mode,
    });
  }

  async #dropReplies(slot: NodeSlot): Promise<void> {
    const count = this.s.random.int(1, 3);
    const before = slot.proxy.stats().repliesDropped;
    slot.proxy.dropReplies(count, (c) => SCRIPT_COMMANDS.has(c.name));
    this.#record('drop-replies', slot.nodeId, `${count} script replies`);
    const deadline = Date.now() + 4_000;
    while (slot.proxy.dropsArmed > 0 && Date.now() < deadline) await sleep(50);
    slot.proxy.dropReplies(0);
    const dropped = slot.proxy.stats().repliesDropped - before;
    this.s.history.add({ kind: 'fault-end', t: Date.now(), fault: 'drop-replies', target: slot.nodeId });
    this.counts['replies-dropped'] = (this.counts['replies-dropped'] ?? 0) + dropped;
  }

  async #during(
    fault: FaultName,
    target: string,
    ms: number,
    how: { begin: () => void; end: () => void; detail?: string },
  ): Promise<void> {
    this.#record(fault, target, `${how.detail ? `${how.detail} ` : ''}${ms} ms`);
    how.begin();
    await sleep(ms);
    how.end();
    this.s.history.add({ kind: 'fault-end', t: Date.now(), fault, target });
  }

  #record(fault: string, target: string, detail?: string): void {
    this.s.history.add({ kind: 'fault', t: Date.now(), fault, target, ...(detail ? { detail } : {}) });
  }
}
