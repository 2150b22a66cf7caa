import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One thing that happened, as the run saw it (`t`: ms since the epoch, this machine's clock). */
export type HistoryEvent =
  | { kind: 'fault'; t: number; fault: string; target: string; detail?: string }
  | { kind: 'fault-end'; t: number; fault: string; target: string }
  | { kind: 'node-up'; t: number; slot: number; nodeId: string; pid: number }
  | { kind: 'node-down'; t: number; slot: number; nodeId: string; how: string }
  | { kind: 'connect'; t: number; token: string; nodeId: string; socketId: string }
  | { kind: 'disconnect'; t: number; token: string; nodeId: string; reason: string }
  | { kind: 'leave'; t: number; token: string }
  | {
      kind: 'push';
      t: number;
      token: string;
      id: string;
      via: 'http' | 'queue';
      ttlMs: number;
      accepted: boolean | null;
      detail?: string;
    }
  | { kind: 'received'; t: number; token: string; id: string }
  | { kind: 'acked'; t: number; token: string; id: string };

/**
 * The run's record: kept in memory for the checker and appended to a JSON-lines file, so that a failed run can
 * be read event by event.
 */
export class History {
  readonly events: HistoryEvent[] = [];
  readonly file: string;

  constructor(dir?: string) {
    const folder = dir ?? mkdtempSync(join(tmpdir(), 'io-session-chaos-'));
    mkdirSync(folder, { recursive: true });
    this.file = join(folder, 'history.jsonl');
  }

  add(event: HistoryEvent): void {
    this.events.push(event);
    appendFileSync(this.file, `${JSON.stringify(event)}\n`);
  }

  of<K extends HistoryEvent['kind']>(kind: K): Extract<HistoryEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<HistoryEvent, { kind: K }> => e.kind === kind);
  }
}
