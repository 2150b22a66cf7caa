import { connect, type Socket } from 'node:net';

/** What MONITOR saw between start and stop. */
export interface MonitorCounts {
  /** Commands sent by clients (an EVALSHA counts once), without the bench's own INFO / CLIENT calls. */
  topLevel: number;
  /** Commands run by scripts (`[0 lua]` lines). */
  scriptCalls: number;
  byCommand: Record<string, number>;
  byClient: Record<string, number>;
}

/** Client connection names by address, from CLIENT LIST. */
export function parseClientList(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const line of text.split('\n')) {
    const addr = /(?:^| )addr=(\S+)/.exec(line)?.[1];
    const name = /(?:^| )name=(\S*)/.exec(line)?.[1];
    if (addr) names.set(addr, name || 'unnamed');
  }
  return names;
}

/**
 * Groups connection names: `ios-bench-node-1-pub` → `node:pub`; BullMQ names its connections
 * `<prefix>:<base64 queue name>[suffix]`, shown as `bullmq:<queue>`.
 */
export function clientGroup(name: string): string {
  const node = /^ios-.*?-(\d+)(?:-(pub|sub|bull))?$/.exec(name);
  if (node) return `node:${node[2] ?? 'commands'}`;
  const bull = /^[^:]+:([A-Za-z0-9+/]+=*)(.*)$/.exec(name);
  if (bull?.[1]) {
    const queue = Buffer.from(bull[1], 'base64').toString('utf8');
    if (/^[\w.-]+$/.test(queue)) return `bullmq:${queue}`;
  }
  return name;
}

/**
 * Parses one MONITOR line: `+1700000000.123456 [0 127.0.0.1:5555] "evalsha" "…" …` (source `lua` for commands
 * a script ran). Returns null for anything else.
 */
export function parseMonitorLine(line: string): { source: string; command: string } | null {
  const open = line.indexOf('[');
  const close = line.indexOf(']', open);
  if (open < 0 || close < 0) return null;
  const space = line.indexOf(' ', open);
  const source = line.slice(space + 1, close);
  const q1 = line.indexOf('"', close);
  const q2 = line.indexOf('"', q1 + 1);
  if (q1 < 0 || q2 < 0) return null;
  return { source, command: line.slice(q1 + 1, q2).toLowerCase() };
}

/**
 * Counts commands with MONITOR on its own connection. MONITOR costs Redis time, so the bench uses it only in a
 * short run of its own, never while measuring throughput or CPU.
 */
export class MonitorSampler {
  readonly #socket: Socket;
  readonly #names: Map<string, string>;
  readonly #counts: MonitorCounts = { topLevel: 0, scriptCalls: 0, byCommand: {}, byClient: {} };
  #rest = '';
  #started = false;
  #marker: { text: string; seen: () => void } | undefined;

  private constructor(socket: Socket, names: Map<string, string>) {
    this.#socket = socket;
    this.#names = names;
  }

  static async start(port: number, clientList: string): Promise<MonitorSampler> {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setEncoding('latin1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const sampler = new MonitorSampler(socket, parseClientList(clientList));
    socket.on('data', (chunk: string) => sampler.#onData(chunk));
    socket.on('error', () => undefined);
    socket.write('CLIENT SETNAME bench-monitor\r\nMONITOR\r\n');
    return sampler;
  }

  /** Adds names of connections opened after the start (looked up again before stopping). */
  learnClients(clientList: string): void {
    for (const [addr, name] of parseClientList(clientList)) this.#names.set(addr, name);
  }

  #onData(chunk: string): void {
    const text = this.#rest + chunk;
    let start = 0;
    for (;;) {
      const end = text.indexOf('\r\n', start);
      if (end < 0) break;
      this.#onLine(text.slice(start, end));
      start = end + 2;
    }
    this.#rest = text.slice(start);
  }

  #onLine(line: string): void {
    if (!this.#started) {
      if (line === '+OK') this.#started = true;
      return;
    }
    const parsed = parseMonitorLine(line);
    if (!parsed) return;
    if (this.#marker && parsed.command === 'echo' && line.includes(this.#marker.text)) {
      this.#marker.seen();
      return;
    }
    if (parsed.source === 'lua') {
      this.#counts.scriptCalls += 1;
      return;
    }
    const name = this.#names.get(parsed.source) ?? parsed.source;
    if (name === 'bench-info' || name === 'bench-monitor') return;
    const c = this.#counts;
    c.topLevel += 1;
    c.byCommand[parsed.command] = (c.byCommand[parsed.command] ?? 0) + 1;
    const group = clientGroup(name);
    c.byClient[group] = (c.byClient[group] ?? 0) + 1;
  }

  /**
   * Stops counting once Redis has streamed everything up to now: `echo` (a function that sends ECHO <text> on
   * another connection) marks the end, and the lines before the marker are still counted.
   */
  async stop(echo: (text: string) => Promise<unknown>, timeoutMs = 30_000): Promise<MonitorCounts> {
    const text = `bench-monitor-end-${process.pid}-${Date.now()}`;
    const seen = new Promise<void>((resolve) => {
      this.#marker = { text, seen: resolve };
    });
    await echo(text);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([seen, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.#socket.destroy();
    return this.#counts;
  }
}
