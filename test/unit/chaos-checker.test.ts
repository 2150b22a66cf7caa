import { check, History, type CheckInput, type HistoryEvent } from '@io-session/chaos';
import { describe, expect, it } from 'vitest';

const T0 = 1_700_000_000_000;
const GRACE = 2000;

function input(events: HistoryEvent[], over: Partial<CheckInput> = {}): CheckInput {
  const history = new History();
  for (const e of events) history.add(e);
  return {
    history,
    graceMs: GRACE,
    slackMs: 100,
    clientsNotBack: [],
    settledSessions: [],
    liveNodeIds: ['n1-1'],
    statuses: new Map(),
    pushJobs: [],
    receiptJobs: [],
    eventJobs: [],
    crashes: [],
    ...over,
  };
}

const started = (token: string, sid: string, at: number) => ({
  id: `e-${sid}-1`,
  data: { type: 'session.started', token, sid, at },
  returnvalue: null,
  stalled: 0,
});
const ended = (token: string, sid: string, at: number) => ({
  id: `e-${sid}-0`,
  data: { type: 'session.ended', token, sid, at, reason: 'timeout' },
  returnvalue: null,
  stalled: 0,
});
const receipt = (jobId: string, ...ids: string[]) => ({
  id: jobId,
  data: { receipts: ids.map((id) => ({ id, token: 's1' })) },
  returnvalue: null,
  stalled: 0,
});
const connect = (t: number): HistoryEvent => ({
  kind: 'connect',
  t,
  token: 's1',
  nodeId: 'n1-1',
  socketId: 'x',
});
const disconnect = (t: number): HistoryEvent => ({
  kind: 'disconnect',
  t,
  token: 's1',
  nodeId: 'n1-1',
  reason: 'r',
});
const push = (id: string, accepted: boolean | null = true): HistoryEvent => ({
  kind: 'push',
  t: T0 + 10,
  token: 's1',
  id,
  via: 'http',
  ttlMs: 5000,
  accepted,
});

describe('the chaos history checker', () => {
  it('passes a clean history', () => {
    const result = check(
      input([connect(T0), push('p1'), disconnect(T0 + 1000)], {
        statuses: new Map([['p1', 'delivered']]),
        receiptJobs: [receipt('r1', 'p1')],
        eventJobs: [started('s1', 'a', T0), ended('s1', 'a', T0 + 1000 + GRACE + 5)],
      }),
    );
    expect(result.violations).toEqual([]);
    expect(result.figures).toMatchObject({ 'pushes accepted': 1, 'pushes delivered': 1, receipts: 1 });
  });

  it('flags an accepted push neither delivered nor expired, unless its session ended', () => {
    const lost = check(input([connect(T0), push('p1')], { statuses: new Map([['p1', 'unknown']]) }));
    expect(lost.violations.map((v) => v.rule)).toEqual(['every accepted push delivered or expired']);
    const pending = check(input([connect(T0), push('p1')], { statuses: new Map([['p1', 'pending']]) }));
    expect(pending.violations).toHaveLength(1);
    const endedAfter = check(
      input([connect(T0), push('p1'), disconnect(T0 + 20)], {
        statuses: new Map([['p1', 'unknown']]),
        eventJobs: [started('s1', 'a', T0), ended('s1', 'a', T0 + 20 + GRACE)],
      }),
    );
    expect(endedAfter.violations).toEqual([]);
    // an HTTP push that got no answer is judged by its status: stored (pending) counts, absent does not
    expect(check(input([push('p1', null)], { statuses: new Map([['p1', 'unknown']]) })).violations).toEqual(
      [],
    );
  });

  it('counts receipts on the queue: a second job for one message, or none, is a violation', () => {
    const statuses = new Map([['p1', 'delivered' as const]]);
    const twice = check(
      input([push('p1')], { statuses, receiptJobs: [receipt('r1', 'p1'), receipt('r2', 'p1')] }),
    );
    expect(twice.violations.map((v) => v.detail)).toEqual(['p1: 2 receipts']);
    const none = check(input([push('p1')], { statuses }));
    expect(none.violations.map((v) => v.detail)).toEqual(['p1: 0 receipts']);
  });

  it('wants status 1 and 0 exactly once per lifetime', () => {
    const result = check(
      input([], { eventJobs: [started('s1', 'a', T0), started('s1', 'a', T0 + 1), ended('s1', 'b', T0)] }),
    );
    expect(result.violations.map((v) => v.detail)).toEqual([
      's1 lifetime a: started 2, ended 0',
      's1 lifetime b: started 0, ended 1',
    ]);
  });

  it('flags a session that ended while its client was connected or within its grace', () => {
    const whileConnected = check(
      input([connect(T0)], { eventJobs: [started('s1', 'a', T0), ended('s1', 'a', T0 + 3000)] }),
    );
    expect(whileConnected.violations.map((v) => v.rule)).toContain(
      'no session ended while connected or within its grace',
    );
    const inGrace = check(
      input([connect(T0), disconnect(T0 + 1000)], {
        eventJobs: [started('s1', 'a', T0), ended('s1', 'a', T0 + 1500)],
      }),
    );
    expect(inGrace.violations).toHaveLength(1);
    // a frozen node's clients count as gone from the freeze on: that node is reaped by design
    const frozen = check(
      input([connect(T0), { kind: 'fault', t: T0 + 100, fault: 'node-sigstop', target: 'n1-1' }], {
        eventJobs: [started('s1', 'a', T0), ended('s1', 'a', T0 + 100 + GRACE + 10)],
      }),
    );
    expect(frozen.violations).toEqual([]);
  });

  it('flags clients not back, registrations of dead processes and node crashes', () => {
    const result = check(
      input([], {
        clientsNotBack: ['s9'],
        settledSessions: [{ token: 's1', connections: [{ id: 'x', nodeId: 'n2-1' }] }],
        crashes: ['n1-1 exited by itself'],
      }),
    );
    expect(result.violations.map((v) => v.rule)).toEqual([
      'every client back',
      'no registration left for a dead process',
      'no node crashes',
    ]);
  });
});
