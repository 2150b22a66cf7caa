/* global process, console, fetch */
// A producer that only speaks HTTP: one push with fetch to POST /v1/push of any node. No dependencies.
// Run: IO_SESSION_URL=http://127.0.0.1:3000 API_KEY=<the nodes' API_KEY> TOKEN=user-42 node examples/http-push.mjs
// Answers: 202 { id, accepted: true, duplicate } once the message is stored (it is then delivered at least once,
// also across reconnects); 404 when the session does not exist. The same id again stores nothing twice.
const url = process.env.IO_SESSION_URL ?? 'http://127.0.0.1:3000';
const token = process.env.TOKEN ?? 'user-42';
const id = process.env.MESSAGE_ID ?? `http-example-${Date.now()}`;

const res = await fetch(`${url}/v1/push`, {
  method: 'POST',
  headers: { authorization: `Bearer ${process.env.API_KEY}`, 'content-type': 'application/json' },
  body: JSON.stringify({ token, id, data: { text: 'hello over HTTP' }, ttlMs: 60_000 }),
});
const answer = await res.json();
console.log(res.status, JSON.stringify(answer));
if (res.status !== 202) process.exit(1);
