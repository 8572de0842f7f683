// Stand-in for quay.io/skupper/hello-world-backend: HTTP on <pod IP>:8080.
// GET|POST /api/hello -> `Hello, <name>. I am <pod-name>.` (name from the query or a JSON body);
// GET /api/health -> OK.
import { createServer } from 'node:http';
import { hostname } from 'node:os';

const pod = process.env.VAN_TEST_POD_NAME || process.env.HOSTNAME || hostname();
const host = process.env.VAN_TEST_POD_IP || '0.0.0.0';
const port = Number(process.env.PORT || 8080);

const server = createServer((req, res) => {
  const url = new URL(req.url || '/', 'http://x');
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (url.pathname === '/api/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      return;
    }
    if (url.pathname === '/api/hello') {
      let name = url.searchParams.get('name') || '';
      if (!name && body) {
        try {
          name = JSON.parse(body).name || '';
        } catch {
          /* not JSON */
        }
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`Hello, ${name || 'stranger'}. I am ${pod}.`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
  });
});
server.listen(port, host, () => console.log(`hello-world-backend: listening on ${host}:${port} as ${pod}`));
process.on('SIGTERM', () => process.exit(0));
