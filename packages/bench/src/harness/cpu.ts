import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Busy CPU time of the whole machine and of this process with its reaped children, in clock ticks. */
interface CpuSample {
  at: number;
  machine: number;
  own: number;
}

function sample(): CpuSample | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal …
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const machine = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name: utime stime cutime cstime are fields 14-17 of the whole line.
    const rest = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const own = (rest[11] ?? 0) + (rest[12] ?? 0) + (rest[13] ?? 0) + (rest[14] ?? 0);
    return { at: Date.now(), machine, own };
  } catch {
    return null;
  }
}

/**
 * Measures how much of the machine's CPU was used by processes other than the bench and its children
 * (other work on a shared machine), from /proc/stat and /proc/self/stat (children count once they have been
 * reaped, so call `share()` after every child has exited).
 */
export class ForeignCpu {
  readonly #start = sample();

  /** Fraction (0..1) of all cores' time used by other processes since construction; null off Linux. */
  share(): number | null {
    const end = sample();
    if (!this.#start || !end) return null;
    const ticksPerSec = 100; // USER_HZ on Linux
    const capacity = ((end.at - this.#start.at) / 1000) * ticksPerSec * cpus().length;
    const foreign = end.machine - this.#start.machine - (end.own - this.#start.own);
    return capacity > 0 ? Math.min(1, Math.max(0, foreign / capacity)) : null;
  }
}
