/* global process, console */
// Node: receive pushes with the SDK.
// Run: IO_SESSION_URL=http://127.0.0.1:3000 TOKEN=user-42 node node.mjs
import { connect } from '@io-session/client';

const client = connect(process.env.IO_SESSION_URL ?? 'http://127.0.0.1:3000', {
  token: process.env.TOKEN ?? 'user-42',
});

client.on('connected', ({ socketId }) => console.log('connected', socketId));
client.on('error', ({ code, message }) => console.error('error', code, message));
client.on('logout', () => {
  console.log('logged out');
  client.close();
});

// Acknowledged when the handler returns; if it throws, the message comes back on the next connection.
client.onPush(async (data, { id }) => {
  console.log('push', id, JSON.stringify(data));
});

client.setData({ platform: process.platform });
