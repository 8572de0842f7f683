// Stand-in for quay.io/skupper/hello-world-frontend: HTTP on <pod IP>:8080. GET|POST /api/hello calls
// http://backend:8080/api/hello (the name resolved by the test cluster's name resolution, see
// resolve-preload.cjs) and returns the backend's answer; GET /api/health -> OK.
import { createServer, request } from 'node:http';
import { hostname } from 'node:os';

const pod = process.env.VAN_TEST_POD_NAME || process.env.HOSTNAME || hostname();
const host = process.env.VAN_TEST_POD_IP || '0.0.0.0';
const port = Number(process.env.PORT || 8080);
const backend = new URL(process.env.BACKEND_SERVICE_URL || 'http://backend:8080');

function callBackend(name) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify({ name });
    const req = request(
      {
        host: backend.hostname,
        port: backend.port || 80,
        path: '/api/hello',
        method: 'POST',
        timeout: 10000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('backend timed out')));
    req.on('error', reject);
    req.end(data);
  });
}

const server = createServer((req, res) => {
  const url = new URL(req.url || '/', 'http://x');
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', async () => {
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
      try {
        const r = await callBackend(name || 'stranger');
        res.writeHead(r.status || 502, { 'content-type': 'text/plain' }).end(r.body);
      } catch (e) {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`backend unreachable: ${e.message}`);
      }
      return;
    }
    if (url.pathname === '/') {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<!doctype html><title>Hello World</title><p>Frontend ${pod}: try <a href="/api/hello?name=you">/api/hello</a></p>`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
  });
});
server.listen(port, host, () => console.log(`hello-world-frontend: listening on ${host}:${port} as ${pod}, backend ${backend.href}`));
process.on('SIGTERM', () => process.exit(0));
