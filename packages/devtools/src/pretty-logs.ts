import { Writable } from 'node:stream';
import { build } from 'pino-pretty';

export interface PrettyLogsOptions {
  /** Where the lines go. Default process.stdout. */
  out?: NodeJS.WritableStream;
  /** Colours. Default: when `out` is a terminal that supports them. */
  colorize?: boolean;
  /** Record fields not shown (the prefix already names the process). Default 'pid,hostname,nodeId,component'. */
  ignore?: string;
}

/** Writes every line it is given to `out`, after `label`; ending it leaves `out` open. */
function labelled(label: string, out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = chunk.toString().replace(/\n$/, '').split('\n');
      out.write(lines.map((line) => `${label} ${line}\n`).join(''));
      done();
    },
  });
}

/**
 * A stream that turns pino's JSON lines (a child's stdout or stderr) into one readable line per record with
 * pino-pretty, each after `label` (`dev-1 │ 12:00:01.250 INFO: session started {"token":"alice",…}`). Lines
 * that are not JSON pass through, labelled too.
 */
export function prettyLogs(label: string, options: PrettyLogsOptions = {}): NodeJS.WritableStream {
  const out = options.out ?? process.stdout;
  return build({
    destination: labelled(label, out),
    colorize: options.colorize ?? ('isTTY' in out && out.isTTY === true),
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: options.ignore ?? 'pid,hostname,nodeId,component',
  });
}
