// The bench's one server, in its own process. The first byte of a connection picks the mode:
// 'E' echo, 'D' download (the server sends as fast as it can), 'U' upload (the server discards).
import net from 'node:net';

const block = Buffer.alloc(64 * 1024, 0x61);
const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
  s.on('error', () => {});
  s.once('readable', function first() {
    const head: Buffer | null = s.read(1);
    if (!head) {
      s.once('readable', first);
      return;
    }
    const mode = String.fromCharCode(head[0]);
    if (mode === 'E') {
      s.pipe(s);
    } else if (mode === 'D') {
      const pump = () => {
        while (!s.destroyed && s.write(block));
      };
      s.on('drain', pump);
      s.on('close', () => s.off('drain', pump));
      s.on('end', () => s.destroy());
      s.resume();
      pump();
    } else {
      s.on('data', () => {});
      s.on('end', () => s.end());
      s.resume();
    }
  });
});
server.maxConnections = 100_000;
server.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
});
