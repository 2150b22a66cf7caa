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
  let last = 0;
  try {
    for (const m of first.pending) {
      sender.replayed(sized(m));
      last = m.seq;
    }
    for (let more = first.more; more && last < first.seq;) {
      await sender.whenLow();
      const page = await store.inbox.read(token, last + 1);
      if (!page || page.pending.length === 0) return;
      for (const m of page.pending) {
        if (m.seq > first.seq) return;
        sender.replayed(sized(m));
        last = m.seq;
      }
      more = page.more;
    }
  } finally {
    sender.endReplay();
  }
}
