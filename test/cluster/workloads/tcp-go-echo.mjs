// Stand-in for quay.io/skupper/tcp-go-echo: a TCP echo on <pod IP>:9090 that answers each line
// (or each read without a newline) as `<pod-name> : <INPUT IN UPPER CASE>`.
import { createServer } from 'node:net';
import { hostname } from 'node:os';

const name = process.env.VAN_TEST_POD_NAME || process.env.HOSTNAME || hostname();
const host = process.env.VAN_TEST_POD_IP || '0.0.0.0';
const port = Number(process.env.PORT || 9090);

const server = createServer((sock) => {
  sock.setNoDelay(true);
  let pending = '';
  let timer;
  const flush = () => {
    if (pending) sock.write(`${name} : ${pending.toUpperCase()}`);
    pending = '';
  };
  sock.setEncoding('utf8');
  sock.on('data', (d) => {
    clearTimeout(timer);
    pending += d;
    let i;
    while ((i = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, i + 1);
      pending = pending.slice(i + 1);
      sock.write(`${name} : ${line.toUpperCase()}`);
    }
    if (pending) timer = setTimeout(flush, 20);
  });
  sock.on('end', () => {
    flush();
    sock.end();
  });
  sock.on('error', () => sock.destroy());
});
server.listen(port, host, () => console.log(`tcp-go-echo: listening on ${host}:${port} as ${name}`));
process.on('SIGTERM', () => process.exit(0));
