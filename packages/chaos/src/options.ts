import { parseArgs } from 'node:util';
import { chaosDefaults } from './defaults.js';

/** What one chaos run does; every field falls back to `chaosDefaults`. */
export interface ChaosOptions {
  seed: number;
  minutes: number;
  nodes: number;
  sessions: number;
  pushesPerSecond: number;
  redisOutageMs: number;
  historyDir: string | undefined;
}

const HELP = `usage: npm run chaos -- [--seed N] [--minutes M] [--nodes N] [--sessions N] [--pushes-per-second N]
                      [--redis-outage-ms MS] [--history-dir DIR]`;

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
  };
}

/** The command that replays a run. */
export function replayCommand(o: ChaosOptions): string {
  const d = chaosDefaults;
  const extra = [
    o.nodes !== d.nodes ? `--nodes ${o.nodes}` : '',
    o.sessions !== d.sessions ? `--sessions ${o.sessions}` : '',
    o.pushesPerSecond !== d.pushesPerSecond ? `--pushes-per-second ${o.pushesPerSecond}` : '',
    o.redisOutageMs !== d.redisOutageMs ? `--redis-outage-ms ${o.redisOutageMs}` : '',
  ].filter(Boolean);
  return ['npm run chaos --', `--seed ${o.seed}`, `--minutes ${o.minutes}`, ...extra].join(' ');
}
