import type { History, HistoryEvent } from '../history.js';
import { checkFalseEnds } from './false-ends.js';
import type { ListedSession, MessageStatus, QueueJob } from './collect.js';

/** Everything the checker reads: the run's history and what Redis and the nodes hold at the end. */
export interface CheckInput {
  history: History;
  graceMs: number;
  slackMs: number;
  /** Tokens still present (not left) whose client was not connected after settling. */
  clientsNotBack: string[];
  /** Sessions as listed after settling, and the node ids alive then. */
  settledSessions: ListedSession[];
  liveNodeIds: string[];
  statuses: Map<string, MessageStatus>;
  pushJobs: QueueJob[];
  receiptJobs: QueueJob[];
  eventJobs: QueueJob[];
  crashes: string[];
}

export interface Violation {
  rule: string;
  detail: string;
}

export interface CheckResult {
  violations: Violation[];
  figures: Record<string, number>;
}

interface SessionEvent {
  type: 'session.started' | 'session.ended';
  token: string;
  sid: string;
  at: number;
  reason?: string;
}

type PushEvent = Extract<HistoryEvent, { kind: 'push' }>;

/** Whether a push was stored: the producer's answer, the job's return value, or else its status. */
function wasStored(
  push: PushEvent,
  status: MessageStatus,
  jobs: Map<string, QueueJob>,
): boolean | 'unprocessed' {
  if (push.via === 'http') return push.accepted ?? status !== 'unknown';
  const job = jobs.get(`m-${push.id}`);
  if (!job) return false;
  const result = job.returnvalue as { stored?: number } | null;
  if (!result || typeof result.stored !== 'number') return 'unprocessed';
  return result.stored > 0;
}

function checkPushes(
  input: CheckInput,
  ends: SessionEvent[],
  v: Violation[],
  f: Record<string, number>,
): void {
  const jobs = new Map(input.pushJobs.map((j) => [j.id, j]));
  f['push jobs run again after stalling'] = input.pushJobs.filter((j) => j.stalled > 0).length;
  for (const push of input.history.of('push')) {
    f[`pushes by ${push.via}`] = (f[`pushes by ${push.via}`] ?? 0) + 1;
    const status = input.statuses.get(push.id) ?? 'unknown';
    const stored = wasStored(push, status, jobs);
    if (stored === 'unprocessed') {
      v.push({ rule: 'push job processed', detail: `${push.id}: its push job never completed` });
      continue;
    }
    if (!stored) continue;
    f['pushes accepted'] = (f['pushes accepted'] ?? 0) + 1;
    f[`pushes ${status}`] = (f[`pushes ${status}`] ?? 0) + 1;
    if (status === 'delivered' || status === 'expired') continue;
    // a session that ends drops its pending pushes: only a push whose session lived on is lost
    const ended = ends.some((e) => e.token === push.token && e.at >= push.t - input.slackMs);
    if (status === 'unknown' && ended) continue;
    v.push({
      rule: 'every accepted push delivered or expired',
      detail: `${push.id} to ${push.token} (${push.via}, ${push.detail ?? ''}, ttl ${push.ttlMs} ms) is ${status}`,
    });
  }
}

function checkReceipts(input: CheckInput, v: Violation[], f: Record<string, number>): void {
  const counts = new Map<string, number>();
  for (const job of input.receiptJobs) {
    const receipts = (job.data as { receipts?: { id: string }[] } | null)?.receipts ?? [];
    for (const r of receipts) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  }
  f['receipt jobs'] = input.receiptJobs.length;
  f['receipts'] = [...counts.values()].reduce((a, b) => a + b, 0);
  const delivered = [...input.statuses].filter(([, s]) => s === 'delivered').map(([id]) => id);
  for (const id of delivered) {
    const n = counts.get(id) ?? 0;
    if (n !== 1)
      v.push({ rule: 'exactly one receipt per acknowledged message', detail: `${id}: ${n} receipts` });
  }
  const deliveredSet = new Set(delivered);
  for (const [id, n] of counts)
    if (!deliveredSet.has(id))
      v.push({
        rule: 'no receipt without an acknowledged message',
        detail: `${id}: ${n} receipts, status ${input.statuses.get(id) ?? 'not pushed'}`,
      });
}

function sessionEvents(input: CheckInput): SessionEvent[] {
  return input.eventJobs.map((j) => j.data as SessionEvent).filter((e) => e && typeof e.sid === 'string');
}

function checkLifetimes(events: SessionEvent[], v: Violation[], f: Record<string, number>): void {
  const lifetimes = new Map<string, { started: number; ended: number; token: string }>();
  for (const e of events) {
    const life = lifetimes.get(e.sid) ?? { started: 0, ended: 0, token: e.token };
    if (e.type === 'session.started') life.started++;
    else life.ended++;
    lifetimes.set(e.sid, life);
  }
  f['session lifetimes'] = lifetimes.size;
  for (const [sid, life] of lifetimes)
    if (life.started !== 1 || life.ended !== 1)
      v.push({
        rule: 'status 1 and 0 once per lifetime',
        detail: `${life.token} lifetime ${sid}: started ${life.started}, ended ${life.ended}`,
      });
}

/** Runs every rule over the run's record; an empty `violations` is a pass. */
export function check(input: CheckInput): CheckResult {
  const v: Violation[] = [];
  const f: Record<string, number> = {};
  const events = sessionEvents(input);
  const ends = events.filter((e) => e.type === 'session.ended');
  checkPushes(input, ends, v, f);
  checkReceipts(input, v, f);
  checkLifetimes(events, v, f);
  checkFalseEnds(input.history, ends, { graceMs: input.graceMs, slackMs: input.slackMs }, v);
  for (const token of input.clientsNotBack)
    v.push({ rule: 'every client back', detail: `${token} not connected after settling` });
  const live = new Set(input.liveNodeIds);
  for (const s of input.settledSessions)
    for (const c of s.connections)
      if (!live.has(c.nodeId))
        v.push({
          rule: 'no registration left for a dead process',
          detail: `${s.token}: ${c.id} on ${c.nodeId}`,
        });
  for (const crash of input.crashes) v.push({ rule: 'no node crashes', detail: crash });
  f['session events'] = events.length;
  f['connects'] = input.history.of('connect').length;
  f['disconnects'] = input.history.of('disconnect').length;
  f['clients that left (churn, then all at the end)'] = input.history.of('leave').length;
  return { violations: v, figures: f };
}
