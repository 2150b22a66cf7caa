/* global process, console, fetch */
// Groups and pushes to several sessions over HTTP (CONTRACT.md §10), with fetch only. No dependencies.
// Run: IO_SESSION_URL=http://127.0.0.1:3000 API_KEY=<the nodes' API_KEY> TOKENS=user-1,user-2 GROUP=zone:5 \
//      node examples/group-push.mjs
// 1. PUT /v1/sessions/:token/groups/:group makes each (connected) session a member until it ends: 204, 404 without
//    such session. 2. GET /v1/groups/:group lists the members, page by page. 3. POST /v1/groups/:group/push gives
//    every member its own stored message and receipt (which carries `group`): 202 { id, recipients }. 4. POST /v1/push
//    with `tokens` pushes to each of them: 202 { results: [{ token, id, accepted, duplicate?, reason? }] }.
// With an `id`, the same call again stores nothing twice (each recipient's id is derived from it).
const url = process.env.IO_SESSION_URL ?? 'http://127.0.0.1:3000';
const tokens = (process.env.TOKENS ?? 'user-1,user-2').split(',');
const group = process.env.GROUP ?? 'zone:5';
const id = process.env.MESSAGE_ID ?? `group-example-${Date.now()}`;
const auth = { authorization: `Bearer ${process.env.API_KEY}` };

async function call(method, path, body) {
  // a content-type only with a body: Fastify refuses an empty JSON body
  const init = body
    ? { method, headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) }
    : { method, headers: auth };
  const res = await fetch(`${url}${path}`, init);
  const text = await res.text();
  console.log(method, path, res.status, text);
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

for (const token of tokens) {
  const joined = await call('PUT', `/v1/sessions/${encodeURIComponent(token)}/groups/${group}`);
  if (joined.status !== 204) process.exit(1);
}
let cursor = null;
do {
  const page = await call('GET', `/v1/groups/${group}?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
  cursor = page.body.next;
} while (cursor);
const pushed = await call('POST', `/v1/groups/${group}/push`, {
  data: { text: 'to the group' },
  id,
  ttlMs: 60_000,
});
const several = await call('POST', '/v1/push', { tokens, data: { text: 'to each' }, id: `${id}-each` });
if (pushed.status !== 202 || several.status !== 202) process.exit(1);
