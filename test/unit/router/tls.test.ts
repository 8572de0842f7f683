// Mutual TLS on links: peers without a certificate of the network are refused at the handshake, and the
// connector's lastError says why in words a user can act on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { connectorTo, foreignClientPki, foreignPki, freePort, networkPki, startRouter, waitFor } from './helpers.js';
import type { Router } from '../../../src/core/router/router.js';
import type { ConnectionStatus } from '../../../src/core/router/peer.js';

describe('link TLS', () => {
  let A: Awaited<ReturnType<typeof startRouter>>;
  const others: Router[] = [];

  before(async () => {
    A = await startRouter('TA');
  });
  after(async () => {
    for (const r of others) await r.stop();
    await A.router.stop();
  });

  async function failing(
    name: string,
    connector: ReturnType<typeof connectorTo>,
  ): Promise<{ status: ConnectionStatus; events: ConnectionStatus[] }> {
    const B = await startRouter(name, {}, false);
    others.push(B.router);
    const events: ConnectionStatus[] = [];
    B.router.events.on('connection', (s: ConnectionStatus) => events.push(s));
    await B.router.applyConfig({ ...B.config, connectors: [connector] });
    await waitFor('the link to fail', () => B.router.status().connections[0]?.lastError !== undefined);
    const status = B.router.status().connections[0];
    assert.notEqual(status.state, 'up');
    assert.equal(
      A.router.status().routers.some((r) => r.id === name),
      false,
    );
    return { status, events };
  }

  test('a server from another network: the CA does not match', async () => {
    const { status, events } = await failing('TB1', connectorTo('foreign-ca', A.port, 1, foreignPki()));
    assert.match(status.lastError!, /not signed by the CA in the token/);
    assert.ok(events.some((e) => e.state === 'down' && /not signed/.test(e.lastError ?? '')));
  });

  test('a client certificate from another CA is refused at the handshake', async () => {
    const before = A.router.status().listeners[0].rejectedPeers;
    const { status } = await failing('TB2', connectorTo('foreign-client', A.port, 1, foreignClientPki()));
    assert.match(status.lastError!, /rejected our client certificate/);
    await waitFor('listener counted the refusal', () => A.router.status().listeners[0].rejectedPeers > before);
  });

  test('a peer without a client certificate cannot even speak AMQP', async () => {
    const p = networkPki().router;
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: A.port, ca: readFileSync(p.ca), servername: 'localhost' });
      s.on('secureConnect', () => s.write(Buffer.from('AMQP\x00\x01\x00\x00', 'binary')));
      s.on('data', () => resolve('data'));
      s.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code}`));
      s.on('close', () => resolve('closed'));
    });
    assert.notEqual(outcome, 'data');
  });

  test('hostname mismatch names the certificate names', async () => {
    const port = await freePort();
    await A.router.applyConfig({
      ...A.router.config,
      listeners: [
        ...A.router.config.listeners,
        { name: 'other-ip', host: '127.0.0.2', port, role: 'inter-router', tls: networkPki().router },
      ],
    });
    const { status } = await failing('TB3', { ...connectorTo('bad-name', port), host: '127.0.0.2' });
    assert.match(status.lastError!, /does not name "127\.0\.0\.2".*localhost.*127\.0\.0\.1/);
  });

  test('connection refused', async () => {
    const { status } = await failing('TB4', connectorTo('nobody', await freePort()));
    assert.match(status.lastError!, /connection refused/);
  });

  test('the connector retries and comes up once the far router starts', async () => {
    const port = await freePort();
    const B = await startRouter('TB5', {}, false);
    others.push(B.router);
    await B.router.applyConfig({ ...B.config, connectors: [connectorTo('late', port)] });
    await waitFor('first failure', () => B.router.status().connections[0]?.lastError !== undefined);
    const p = networkPki();
    const { Router } = await import('../../../src/core/router/router.js');
    const late = await Router.start({
      id: 'TLATE',
      siteId: 's',
      siteName: 'late',
      mode: 'interior',
      listeners: [{ name: 'ir', host: '127.0.0.1', port, role: 'inter-router', tls: p.router }],
      connectors: [],
      tcpListeners: [],
      tcpConnectors: [],
    });
    others.push(late);
    await waitFor('link up after back-off', () => B.router.status().connections[0]?.state === 'up', 10_000);
    assert.equal(B.router.status().connections[0].remoteSiteName, 'late');
  });
});
