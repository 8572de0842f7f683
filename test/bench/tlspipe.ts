// The floor for any router written in Node: one half of a stunnel-like pair, with no AMQP and no
// framing, each TCP connection piped to its own mutual-TLS 1.3 connection. The bench runs a pair of
// these as the system `node-tls`, to tell what Node's TLS and sockets cost from what the router adds, and
// a client, a relay and a server as `node-tls-2hop`, the floor for two hops (the relay, like a router in
// the middle, takes mutual TLS in and makes mutual TLS out).
// Usage: node tlspipe.cjs client LISTEN_PORT TLS_PORT CA CERT KEY | relay TLS_PORT TLS_PORT CA CERT KEY
//        | server TLS_PORT TARGET_PORT CA CERT KEY
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const [mode, a, b, caPath, certPath, keyPath] = process.argv.slice(2);
const pem = { ca: readFileSync(caPath), cert: readFileSync(certPath), key: readFileSync(keyPath) };

function join(x: net.Socket, y: net.Socket): void {
  x.setNoDelay(true);
  y.setNoDelay(true);
  x.on('error', () => y.destroy());
  y.on('error', () => x.destroy());
  x.pipe(y);
  y.pipe(x);
}

function ready(server: net.Server, port: number): void {
  server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => process.stdout.write('ready\n'));
}

const context = tls.createSecureContext({ ...pem, minVersion: 'TLSv1.3' });
const connectOut = () => tls.connect({ port: Number(b), host: '127.0.0.1', secureContext: context, servername: 'localhost' });
const tlsServer = (onSecure: (secure: tls.TLSSocket) => void) =>
  tls.createServer({ ...pem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', allowHalfOpen: true }, onSecure);

if (mode === 'client') {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (plain) => join(plain, connectOut()));
  ready(server, Number(a));
} else if (mode === 'relay') {
  ready(
    tlsServer((secure) => join(secure, connectOut())),
    Number(a),
  );
} else {
  ready(
    tlsServer((secure) => join(secure, net.connect({ port: Number(b), host: '127.0.0.1', allowHalfOpen: true }))),
    Number(a),
  );
}

// The bench stops its systems with SIGTERM: exit normally, so that --cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));
