/* global process, console */
// A legacy client: the seed's io-session-handler events, as apps that cannot change speak them.
// Run: IO_SESSION_URL=http://127.0.0.1:3000 TOKEN=user-42 node legacy.mjs
import { io } from 'socket.io-client';

const token = process.env.TOKEN ?? 'user-42';
const socket = io(process.env.IO_SESSION_URL ?? 'http://127.0.0.1:3000', { query: { token } });

socket.on('connect', () => {
  console.log('connected', socket.id);
  socket.emit('client_data', JSON.stringify({ token, data: { app: 'legacy' } }));
});

socket.on('push_message', (data) => {
  console.log('push', JSON.stringify(data));
  // The seed's receipt: the token and the data as received.
  socket.emit('push_message_delivery', JSON.stringify({ token, data }));
});

socket.on('logout', () => {
  console.log('logged out');
  socket.close();
});
