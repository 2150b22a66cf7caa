import type { Api, Session } from './api.js';
import { byId, h } from './dom.js';
import { json } from './format.js';

/** Sessions a page shows (without a search). */
const PAGE_SIZE = 20;
/** A search reads the API in pages this large, filtering by token prefix, ... */
const SCAN_PAGE_SIZE = 500;
/** ... and reads at most this many of them for one page of results. */
const SCAN_PAGES = 20;

/**
 * The sessions table: paginated with the API's cursor; a search by token prefix looks the token up exactly
 * and pages through the cluster's sessions filtering by prefix (the API has no prefix query).
 */
export class SessionsView {
  /** Start cursor of every page up to the current one (the last). */
  #starts: (string | null)[] = [null];
  #next: string | null = null;
  #prefix = '';
  #loading: Promise<void> | undefined;
  readonly #body = byId<HTMLTableElement>('sessions').tBodies[0] as HTMLTableSectionElement;

  constructor(
    private readonly api: Api,
    private readonly actions: { pushTo: (token: string) => void; onError: (err: unknown) => void },
  ) {
    byId<HTMLFormElement>('session-search').addEventListener('submit', (event) => {
      event.preventDefault();
      this.#prefix = byId<HTMLInputElement>('search').value.trim();
      this.#starts = [null];
      void this.refresh();
    });
    byId('prev').addEventListener('click', () => {
      if (this.#starts.length > 1) this.#starts.pop();
      void this.refresh();
    });
    byId('next').addEventListener('click', () => {
      if (this.#next === null) return;
      this.#starts.push(this.#next);
      void this.refresh();
    });
  }

  /** Loads the current page again (a refresh already under way is joined, not repeated). */
  refresh(): Promise<void> {
    this.#loading ??= this.#load().finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  async #load(): Promise<void> {
    const start = this.#starts.at(-1) ?? null;
    const prefix = this.#prefix;
    try {
      const { rows, next, scanned } = prefix ? await this.#search(prefix, start) : await this.#page(start);
      if (prefix !== this.#prefix) return; // a newer search started meanwhile
      this.#next = next;
      this.#render(rows);
      const page = this.#starts.length;
      byId('page-info').textContent = `page ${page}`;
      byId('sessions-info').textContent = prefix
        ? `${rows.length} matching "${prefix}" (read ${scanned} API page${scanned === 1 ? '' : 's'})`
        : `${rows.length} on this page`;
      byId<HTMLButtonElement>('prev').disabled = page <= 1;
      byId<HTMLButtonElement>('next').disabled = next === null;
    } catch (err) {
      this.actions.onError(err);
    }
  }

  async #page(start: string | null): Promise<{ rows: Session[]; next: string | null; scanned: number }> {
    const page = await this.api.sessions(start, PAGE_SIZE);
    return { rows: page.sessions, next: page.next, scanned: 1 };
  }

  async #search(
    prefix: string,
    start: string | null,
  ): Promise<{ rows: Session[]; next: string | null; scanned: number }> {
    const rows: Session[] = [];
    const seen = new Set<string>();
    if (start === null) {
      const exact = await this.api.session(prefix);
      if (exact) {
        rows.push(exact);
        seen.add(exact.token);
      }
    }
    let cursor = start;
    let scanned = 0;
    do {
      const page = await this.api.sessions(cursor, SCAN_PAGE_SIZE);
      for (const s of page.sessions) {
        if (s.token.startsWith(prefix) && !seen.has(s.token)) {
          rows.push(s);
          seen.add(s.token);
        }
      }
      cursor = page.next;
      scanned += 1;
    } while (cursor !== null && rows.length < PAGE_SIZE && scanned < SCAN_PAGES);
    return { rows, next: cursor, scanned };
  }

  #render(rows: Session[]): void {
    if (rows.length === 0) {
      this.#body.replaceChildren(
        h('tr', {}, h('td', { class: 'muted', attrs: { colspan: '5' } }, 'no sessions')),
      );
      return;
    }
    this.#body.replaceChildren(...rows.map((s) => this.#row(s)));
  }

  #row(s: Session): HTMLTableRowElement {
    const grace =
      s.status === 'grace' && s.graceUntil
        ? ` ${Math.max(0, Math.ceil((s.graceUntil - Date.now()) / 1000))} s`
        : '';
    const connections = s.connections.length
      ? s.connections.map((c) =>
          h(
            'div',
            { class: 'mono' },
            `${c.id} @ ${c.nodeId}`,
            c.protocol ? h('span', { class: 'muted' }, ` v${c.protocol}`) : null,
          ),
        )
      : [h('span', { class: 'muted' }, 'none')];
    const push = h('button', { attrs: { type: 'button' } }, 'Push');
    push.addEventListener('click', () => this.actions.pushTo(s.token));
    const logout = h(
      'button',
      { attrs: { type: 'button' }, title: 'End the session now (DELETE /v1/sessions/:token)' },
      'Log out',
    );
    logout.addEventListener('click', () => {
      if (!confirm(`End the session ${s.token}? Every connection gets 'logout'.`)) return;
      this.api.logout(s.token).then(() => this.refresh(), this.actions.onError);
    });
    return h(
      'tr',
      { attrs: { 'data-token': s.token } },
      h('td', { class: 'mono' }, s.token),
      h('td', {}, h('span', { class: `pill status-${s.status}` }, s.status + grace)),
      h('td', {}, ...connections),
      h('td', { class: 'data mono', title: json(s.data, 4000) }, json(s.data)),
      h('td', {}, push, ' ', logout),
    );
  }
}
