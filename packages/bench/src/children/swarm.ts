/**
 * A client swarm: a child process of the bench holding many client connections (swarm-clients.ts), so that
 * the clients do not share the measuring process. They acknowledge every push at once; the swarm records the
 * latency of pushes of the current phase (receive time minus the send time carried in the data).
 */
import { exitWithParent } from '@io-session/devtools/child';
import { nowMs, type PushData } from '../load/pacer.js';
import type { ClientMode, SwarmClient, SwarmCommand, SwarmEvent } from './messages.js';
import { openClient, probe, type ClientHooks, type OpenClient } from './swarm-clients.js';

exitWithParent();
const send = (event: SwarmEvent): void => {
  process.send?.(event);
};

const groups = new Map<string, OpenClient[]>();
let phase = -1;
let samples = new Float64Array(65_536);
let count = 0;
let received = 0;
let dropped = 0;
const errors: Record<string, number> = {};

function record(data: unknown): void {
  received += 1;
  const d = data as PushData | null;
  if (phase < 0 || !d || d.p !== phase) return;
  if (count === samples.length) {
    const bigger = new Float64Array(samples.length * 2);
    bigger.set(samples);
    samples = bigger;
  }
  samples[count++] = nowMs() - d.t;
}

const hooks: ClientHooks = {
  onData: record,
  onDropped: () => {
    dropped += 1;
  },
  onError: (code) => {
    errors[code] = (errors[code] ?? 0) + 1;
  },
};

async function connectAll(
  group: string,
  clients: SwarmClient[],
  mode: ClientMode,
  concurrency: number,
): Promise<void> {
  const sockets = groups.get(group) ?? [];
  groups.set(group, sockets);
  let next = 0;
  let ok = 0;
  let failed = 0;
  let error: string | undefined;
  const timer = setInterval(() => send({ type: 'progress', group, ok, failed }), 500);
  const lane = async (): Promise<void> => {
    while (next < clients.length) {
      const client = clients[next++]!;
      try {
        sockets.push(await openClient(client, mode, hooks));
        ok += 1;
      } catch (err) {
        failed += 1;
        error ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  clearInterval(timer);
  send({ type: 'connected', group, ok, failed, ...(error ? { error } : {}) });
}

process.on('message', (command: SwarmCommand) => {
  switch (command.type) {
    case 'connect':
      void connectAll(command.group, command.clients, command.mode, command.concurrency);
      break;
    case 'disconnect':
      for (const client of groups.get(command.group) ?? []) client.close();
      groups.delete(command.group);
      send({ type: 'disconnected', group: command.group });
      break;
    case 'phase':
      phase = command.id;
      count = 0;
      break;
    case 'collect': {
      const id = command.id;
      const out = samples.slice(0, phase === id ? count : 0);
      phase = -1;
      count = 0;
      send({ type: 'samples', id, samples: out, received, dropped, errors: { ...errors } });
      break;
    }
    case 'probe': {
      const id = command.id;
      void probe(command, () => send({ type: 'probe-ready', id })).then((result) =>
        send({ type: 'probed', id, ...result }),
      );
      break;
    }
  }
});
send({ type: 'ready' });
