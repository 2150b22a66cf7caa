import type { OutboxItem, Receipt, SessionEvent } from './types.js';

interface RawReceipt extends Omit<Receipt, 'data'> {
  type: 'receipt';
  data: string | false;
}

/** Decodes one outbox stream entry (`e` = JSON written by a script). */
export function decodeOutboxEntry(bucket: number, entryId: string, json: string): OutboxItem {
  const raw = JSON.parse(json) as (SessionEvent & { type: SessionEvent['type'] }) | RawReceipt;
  if (raw.type === 'receipt') {
    const { type: _type, data, ...rest } = raw;
    const receipt: Receipt = {
      ...rest,
      data: typeof data === 'string' ? (JSON.parse(data) as unknown) : null,
    };
    return { kind: 'receipt', bucket, entryId, receipt };
  }
  return { kind: 'event', bucket, entryId, event: raw };
}
