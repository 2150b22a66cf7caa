import { readFileSync } from 'node:fs';

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status); null if it cannot be read. */
export function rssOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}

/** Sum of the RSS of several processes; null if any cannot be read. */
export function totalRss(pids: readonly number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const rss = rssOf(pid);
    if (rss === null) return null;
    total += rss;
  }
  return total;
}

/** CPU time (user + system) a process has used so far, in microseconds (/proc/<pid>/stat); null if gone. */
export function cpuUsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line (11 and 12 after the state field), in USER_HZ ticks.
    return (Number(rest[11]) + Number(rest[12])) * 10_000;
  } catch {
    return null;
  }
}

/** Sum of the CPU time of several processes, in microseconds; null if any cannot be read. */
export function totalCpuUs(pids: readonly number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const us = cpuUsOf(pid);
    if (us === null) return null;
    total += us;
  }
  return total;
}
