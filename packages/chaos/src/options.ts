import { parseArgs } from 'node:util';
import { chaosDefaults } from './defaults.js';
import { FAULT_WEIGHTS, type FaultName } from './faults.js';

/** What one chaos run does; every field falls back to `chaosDefaults`. */
export interface ChaosOptions {
  seed: number;
  minutes: number;
  nodes: number;
  sessions: number;
  pushesPerSecond: number;
  redisOutageMs: number;
  historyDir: string | undefined;
  /** Only these faults (all of `FAULT_WEIGHTS` by default). */
  faults?: FaultName[] | undefined;
}

const HELP = `usage: npm run chaos -- [--seed N] [--minutes M] [--nodes N] [--sessions N] [--pushes-per-second N]
                      [--redis-outage-ms MS] [--history-dir DIR] [--faults name,name,…]
faults: ${Object.keys(FAULT_WEIGHTS).join(', ')}`;

function whole(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min)
    throw new Error(`--${name} must be a number of at least ${min}, got '${text}'\n${HELP}`);
  return n;
}

/** Parses the command line (`--seed 7 --minutes 2`); a bad value throws with the usage. */
export function parseChaosArgs(argv: string[]): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      minutes: { type: 'string' },
      nodes: { type: 'string' },
      sessions: { type: 'string' },
      'pushes-per-second': { type: 'string' },
      'redis-outage-ms': { type: 'string' },
      'history-dir': { type: 'string' },
      faults: { type: 'string' },
    },
    strict: true,
  });
  return {
    seed: Math.trunc(whole('seed', values.seed, chaosDefaults.seed, 0)),
    minutes: whole('minutes', values.minutes, chaosDefaults.minutes, 0.1),
    nodes: Math.trunc(whole('nodes', values.nodes, chaosDefaults.nodes, 2)),
    sessions: Math.trunc(whole('sessions', values.sessions, chaosDefaults.sessions, 1)),
    pushesPerSecond: whole(
      'pushes-per-second',
      values['pushes-per-second'],
      chaosDefaults.pushesPerSecond,
      0.1,
    ),
    redisOutageMs: whole('redis-outage-ms', values['redis-outage-ms'], chaosDefaults.redisOutageMs, 100),
    historyDir: values['history-dir'] ?? chaosDefaults.historyDir,
    faults: values.faults === undefined ? undefined : faultList(values.faults),
  };
}

function faultList(text: string): FaultName[] {
  const names = text.split(',').map((n) => n.trim());
  const bad = names.filter((n) => !(n in FAULT_WEIGHTS));
  if (bad.length > 0 || names.length === 0)
    throw new Error(`--faults: unknown fault '${bad.join(', ')}'\n${HELP}`);
  return names as FaultName[];
}

/** The command that replays a run. */
export function replayCommand(o: ChaosOptions): string {
  const d = chaosDefaults;
  const extra = [
    o.nodes !== d.nodes ? `--nodes ${o.nodes}` : '',
    o.sessions !== d.sessions ? `--sessions ${o.sessions}` : '',
    o.pushesPerSecond !== d.pushesPerSecond ? `--pushes-per-second ${o.pushesPerSecond}` : '',
    o.redisOutageMs !== d.redisOutageMs ? `--redis-outage-ms ${o.redisOutageMs}` : '',
    o.faults ? `--faults ${o.faults.join(',')}` : '',
  ].filter(Boolean);
  return ['npm run chaos --', `--seed ${o.seed}`, `--minutes ${o.minutes}`, ...extra].join(' ');
}
