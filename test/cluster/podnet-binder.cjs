// Runs inside the pod network namespace for the kubelet stand-in (which stays in the host's): binds a
// listening TCP socket there for each request and hands it over the IPC channel. The kubelet accepts
// on it in its own event loop; a socket keeps the namespace it was created in, whichever process holds
// it. Request: {id, host, port}; answer: {id} with the server handle, or {id, error}.
'use strict';
const net = require('node:net');

process.on('message', (m) => {
  // Until the handle is closed here, a connection may land on this copy: refuse it (clients retry).
  const server = net.createServer((socket) => socket.destroy());
  server.once('error', (e) => process.send({ id: m.id, error: `${e.code || ''} ${e.message}`.trim() }));
  server.listen({ host: m.host, port: m.port, exclusive: true }, () => {
    process.send({ id: m.id }, server, () => server.close());
  });
});
process.on('disconnect', () => process.exit(0));
