import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { watchWithReconnect } from '../../../src/core/kube/watch';

describe('watchWithReconnect', () => {
  test('reconnects when the stream ends, telling the caller to re-read each time', async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      assert.match(req.url ?? '', /watch=true/);
      assert.match(req.url ?? '', /labelSelector=skupper.io%2Ftype%3Dconnection-token/);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: `s${requests}` } } }) + '\n');
      if (requests === 1) res.end(); // the server closes the first stream
      else if (requests === 2) setTimeout(() => res.end(), 20_000).unref();
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const events: string[] = [];
    let connects = 0;
    const errors: string[] = [];
    const handle = watchWithReconnect(kc, '/api/v1/namespaces/w/secrets', {
      query: { labelSelector: 'skupper.io/type=connection-token' },
      onEvent: (phase, obj) => events.push(`${phase} ${obj.metadata.name}`),
      onConnect: () => connects++,
      minBackoffMs: 10,
      onError: (e) => errors.push(String((e as Error)?.message ?? e)),
    });
    const deadline = Date.now() + 5000;
    while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    handle.stop();
    server.closeAllConnections();
    server.close();
    assert.deepEqual(events, ['ADDED s1', 'ADDED s2'], errors.join('; '));
    assert.ok(connects >= 2, `connected ${connects} times`);
  });
});
