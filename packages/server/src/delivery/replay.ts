import type { PendingMessage, SessionStore } from '@io-session/store';
import type { Sender } from '../protocol/sender.js';
import { sized } from './holding.js';

/** The first page of a session's inbox, as a registration returned it. */
export interface FirstPage {
  /** The session's last push sequence when the connection registered. */
  seq: number;
  pending: PendingMessage[];
  more: boolean;
}

/**
 * Sends a new connection its session's inbox, oldest first, page by page — the next page only once the connection
 * has taken the last (so a client that does not read holds one page of the node's memory, not its whole inbox).
 * Pushes stored after the registration wait behind the replay.
 */
export async function replayInbox(
  store: SessionStore,
  token: string,
  sender: Sender,
  first: FirstPage,
): Promise<void> {
  if (first.more) sender.beginReplay(first.seq);
  let last = 0;
  for (const m of first.pending) {
    sender.offer(sized(m));
    last = m.seq;
  }
  if (!first.more) return;
  try {
    for (;;) {
      await sender.whenLow();
      const page = await store.inbox.read(token, last + 1);
      if (!page) return;
      for (const m of page.pending) {
        if (m.seq > first.seq) return;
        sender.offer(sized(m));
        last = m.seq;
      }
      if (!page.more || last >= first.seq || page.pending.length === 0) return;
    }
  } finally {
    sender.endReplay();
  }
}
