/**
 * A client swarm: a child process of the bench holding many socket.io-client connections, so that the
 * clients do not share the measuring process. It acknowledges every push at once and records the latency
 * of pushes of the current phase (receive time minus the send time carried in the data).
 */
import { io, type Socket } from 'socket.io-client';
import { exitWithParent } from '@io-session/devtools/child';
import { nowMs, type PushData } from '../load/pacer.js';
import type { ClientMode, SwarmClient, SwarmCommand, SwarmEvent } from './messages.js';

exitWithParent();
const send = (event: SwarmEvent): void => {
  process.send?.(event);
};

const groups = new Map<string, Socket[]>();
let phase = -1;
let samples = new Float64Array(65_536);
let count = 0;
let received = 0;
let dropped = 0;

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

function open(client: SwarmClient, mode: ClientMode): Promise<Socket> {
  const query: Record<string, string> = { token: client.token };
  if (mode === 'v2') query.v = '2';
  const socket = io(client.url, {
    query,
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
  });
  if (mode === 'v2') {
    socket.on('push_message', (message: { data?: unknown }, ack?: () => void) => {
      record(message?.data);
      ack?.();
    });
  } else {
    socket.on('push_message', (data: unknown) => {
      record(data);
      socket.emit('push_message_delivery', JSON.stringify({ token: client.token, data }));
    });
  }
  socket.on('disconnect', (reason) => {
    if (reason !== 'io client disconnect') dropped += 1;
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

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
        sockets.push(await open(client, mode));
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
      for (const socket of groups.get(command.group) ?? []) socket.disconnect();
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
      send({ type: 'samples', id, samples: out, received, dropped });
      break;
    }
  }
});
send({ type: 'ready' });
