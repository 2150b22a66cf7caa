import type { History } from '../history.js';
import type { Violation } from './checker.js';

interface Ended {
  token: string;
  sid: string;
  at: number;
  reason?: string;
}

interface Interval {
  nodeId: string;
  from: number;
  to: number;
}

/** When each node was frozen or cut off from Redis: its clients still look connected, but it may be reaped. */
function impairments(history: History): Map<string, number[]> {
  const starts = new Map<string, number[]>();
  for (const e of history.of('fault'))
    if (e.fault === 'node-sigstop' || e.fault === 'partition')
      starts.set(e.target, [...(starts.get(e.target) ?? []), e.t]);
  return starts;
}

/** Each connection of each token, from its `connect` to its `disconnect` (or the end of the record). */
function intervals(history: History): Map<string, Interval[]> {
  const open = new Map<string, Interval>();
  const out = new Map<string, Interval[]>();
  const close = (token: string, t: number): void => {
    const i = open.get(token);
    if (!i) return;
    i.to = t;
    open.delete(token);
    out.set(token, [...(out.get(token) ?? []), i]);
  };
  for (const e of history.events) {
    if (e.kind === 'connect') open.set(e.token, { nodeId: e.nodeId, from: e.t, to: Infinity });
    else if (e.kind === 'disconnect' || e.kind === 'leave') close(e.token, e.t);
  }
  for (const token of [...open.keys()]) close(token, Infinity);
  return out;
}

/**
 * No session ended while one of its clients was connected, or within the grace after its client left. A client
 * on a node that was frozen (SIGSTOP) or partitioned counts as gone from that moment: the cluster rightly reaps
 * such a node once its heartbeat lapses.
 */
export function checkFalseEnds(
  history: History,
  ends: Ended[],
  o: { graceMs: number; slackMs: number },
  v: Violation[],
): void {
  const impaired = impairments(history);
  const byToken = intervals(history);
  for (const end of ends) {
    for (const i of byToken.get(end.token) ?? []) {
      const cut = (impaired.get(i.nodeId) ?? []).find((t) => t >= i.from && t < i.to);
      const to = cut ?? i.to;
      if (end.at > i.from + o.slackMs && end.at < to + o.graceMs - o.slackMs) {
        const when =
          end.at < to ? 'while its client was connected' : `${end.at - to} ms after its client left`;
        v.push({
          rule: 'no session ended while connected or within its grace',
          detail: `${end.token} lifetime ${end.sid} ended (${end.reason ?? ''}) ${when} (on ${i.nodeId} since ${i.from})`,
        });
        break;
      }
    }
  }
}
