// Integration on loopback, routers in this process: echo through 1 and 2 hops, half-close, a refusing
// target, a slow reader, load sharing, live reconfiguration, 1000 concurrent flows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { connectorTo, echoOnce, echoServer, freePort, startRouter, waitFor } from './helpers.js';
import type { Router } from '../../../src/core/router/router.js';

describe('data path: A <- B <- C (C has the listener, A the target)', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let A: Awaited<ReturnType<typeof startRouter>>;
  let B: Awaited<ReturnType<typeof startRouter>>;
  let C: Awaited<ReturnType<typeof startRouter>>;
  const routers: Router[] = [];

  before(async () => {
    echo = await echoServer();
    A = await startRouter('A', { tcpConnectors: [{ name: 'echo', host: '127.0.0.1', port: echo.port, address: 'echo' }] });
    B = await startRouter('B', { tcpListeners: [{ name: 'echo-b', host: '127.0.0.1', port: 0, address: 'echo' }] });
    await B.router.applyConfig({ ...B.config, connectors: [connectorTo('to-a', A.port)] });
    C = await startRouter('C', { tcpListeners: [{ name: 'echo-c', host: '127.0.0.1', port: 0, address: 'echo' }] }, false);
    await C.router.applyConfig({ ...C.config, connectors: [connectorTo('to-b', B.port)] });
    routers.push(A.router, B.router, C.router);
    await waitFor('C sees echo two hops away', () =>
      C.router.status().addresses.some((a) => a.address === 'echo' && a.remoteSites.includes('site-A')),
    );
  });

  after(async () => {
    for (const r of routers) await r.stop();
    await echo.close();
  });

  test('status names the site at both ends of a link', () => {
    const out = B.router.status().connections.find((c) => c.direction === 'outgoing')!;
    assert.equal(out.state, 'up');
    assert.equal(out.remoteRouterId, 'A');
    assert.equal(out.remoteSiteName, 'site-A');
    const inc = A.router.status().connections.find((c) => c.direction === 'incoming')!;
    assert.equal(inc.remoteRouterId, 'B');
    assert.equal(inc.remoteSiteName, 'site-B');
    const routes = C.router.status().routers;
    assert.deepEqual(
      routes.find((r) => r.id === 'A'),
      { id: 'A', siteId: 'site-A', siteName: 'site-A', nextHop: 'B', cost: 2 },
    );
  });

  test('echo through 1 hop', async () => {
    const out = await echoOnce(B.router.tcpListenerPort('echo-b')!, 'hello one hop');
    assert.equal(out.toString(), 'hello one hop');
  });

  test('echo through 2 hops, 4 MB both ways, bytes intact', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const out = await echoOnce(C.router.tcpListenerPort('echo-c')!, data, 20_000);
    assert.equal(out.length, data.length);
    assert.ok(out.equals(data));
    await waitFor('flows closed everywhere', () => routers.every((r) => r.status().flows.active === 0));
  });

  test('those 4 MB crossed every link on the fast paths: no data frame was written or read by rhea', () => {
    // A fast path that quietly declines (rhea then encodes, copies and decodes each frame) passes every
    // other test here at half the throughput; these counters are what tells.
    for (const router of routers) {
      const links = router.status().connections.filter((c) => c.role !== 'normal');
      assert.ok(links.length > 0, `${router.id} has router links`);
      for (const link of links) {
        const f = link.dataFrames;
        const where = `${router.id} ${link.direction} link: ${JSON.stringify(f)}`;
        assert.ok(f, where);
        assert.equal(f.sentRhea, 0, where);
        assert.equal(f.readRhea, 0, where);
        assert.equal(f.queued, 0, where);
        // 4 MiB each way on every link, in frames of at most 512 KiB.
        assert.ok(f.sentFast >= 8 && f.readFast >= 8, where);
      }
    }
  });

  test('half-close: the server still answers after the client stops writing', async () => {
    // A server that waits for the client's FIN, then answers and closes.
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (b) => chunks.push(b));
      s.on('end', () => setTimeout(() => s.end(`got ${Buffer.concat(chunks).length} bytes`), 50));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await A.router.applyConfig({
      ...A.router.config,
      tcpConnectors: [...A.router.config.tcpConnectors, { name: 'hc', host: '127.0.0.1', port, address: 'hc' }],
    });
    await C.router.applyConfig({
      ...C.router.config,
      tcpListeners: [...C.router.config.tcpListeners, { name: 'hc', host: '127.0.0.1', port: 0, address: 'hc' }],
    });
    await waitFor('hc reachable', () => C.router.status().addresses.some((a) => a.address === 'hc' && a.remoteSites.length > 0));
    const out = await echoOnce(C.router.tcpListenerPort('hc')!, 'x'.repeat(1000));
    assert.equal(out.toString(), 'got 1000 bytes');
    server.close();
  });

  test('a refusing target closes the client promptly', async () => {
    const dead = await freePort();
    await A.router.applyConfig({
      ...A.router.config,
      tcpConnectors: [...A.router.config.tcpConnectors, { name: 'dead', host: '127.0.0.1', port: dead, address: 'dead' }],
    });
    await C.router.applyConfig({
      ...C.router.config,
      tcpListeners: [...C.router.config.tcpListeners, { name: 'dead', host: '127.0.0.1', port: 0, address: 'dead' }],
    });
    await waitFor('dead reachable', () => C.router.status().addresses.some((a) => a.address === 'dead' && a.remoteSites.length > 0));
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      const s = net.connect(C.router.tcpListenerPort('dead')!, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    const ms = Date.now() - t0;
    assert.ok(ms < 2000, `closed after ${ms} ms`);
    assert.match(A.router.status().tcpConnectors.find((t) => t.name === 'dead')!.lastError ?? '', /refused/);
  });

  test('no target for an address: the client is closed at once', async () => {
    await C.router.applyConfig({
      ...C.router.config,
      tcpListeners: [...C.router.config.tcpListeners, { name: 'nobody', host: '127.0.0.1', port: 0, address: 'nobody' }],
    });
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      const s = net.connect(C.router.tcpListenerPort('nobody')!, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    assert.ok(Date.now() - t0 < 1500);
  });

  test('a slow reader slows the writer; memory stays bounded; nothing is lost', async () => {
    let server: net.Socket | undefined;
    let received = 0;
    const srv = net.createServer((s) => {
      server = s;
      s.pause(); // reads nothing for now
      s.on('data', (b) => (received += b.length));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await A.router.applyConfig({
      ...A.router.config,
      tcpConnectors: [...A.router.config.tcpConnectors, { name: 'slow', host: '127.0.0.1', port, address: 'slow' }],
    });
    await C.router.applyConfig({
      ...C.router.config,
      tcpListeners: [...C.router.config.tcpListeners, { name: 'slow', host: '127.0.0.1', port: 0, address: 'slow' }],
    });
    await waitFor('slow reachable', () => C.router.status().addresses.some((a) => a.address === 'slow' && a.remoteSites.length > 0));
    const client = net.connect(C.router.tcpListenerPort('slow')!, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    let stop = false;
    const pump = () => {
      while (!stop && client.write(chunk)) written += chunk.length;
      if (!stop) written += chunk.length;
    };
    client.on('drain', pump);
    const rss0 = process.memoryUsage().rss;
    pump();
    // Wait until the writer has made no progress for 700 ms (it must stall within 15 s).
    let last = -1;
    let since = Date.now();
    const until = Date.now() + 15_000;
    while (Date.now() - since < 700) {
      assert.ok(Date.now() < until, `the writer never stalled: ${written} bytes accepted`);
      if (written !== last) {
        last = written;
        since = Date.now();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const w2 = written;
    stop = true;
    const rss1 = process.memoryUsage().rss;
    // The writer is stalled: a bounded amount is in flight (kernel buffers + one window per hop at most).
    assert.ok(w2 < 64 * 1024 * 1024, `too much accepted: ${w2}`);
    assert.ok(rss1 - rss0 < 64 * 1024 * 1024, `memory grew by ${rss1 - rss0}`);
    // Now read: everything arrives.
    await waitFor('server connected', () => server !== undefined);
    server!.resume();
    client.end();
    await waitFor('all bytes delivered', () => received === w2, 20_000);
    server!.destroy();
    srv.close();
  });

  test('live reconfiguration: a flow survives adding a tcp listener and a connector elsewhere', async () => {
    const s = net.connect({ port: C.router.tcpListenerPort('echo-c')!, host: '127.0.0.1', noDelay: true });
    await new Promise((r) => s.once('connect', r));
    const roundTrip = (text: string) =>
      new Promise<string>((resolve) => {
        s.once('data', (b) => resolve(b.toString()));
        s.write(text);
      });
    assert.equal(await roundTrip('before'), 'before');
    const extraPort = await freePort();
    await C.router.applyConfig({
      ...C.router.config,
      tcpListeners: [...C.router.config.tcpListeners, { name: 'new', host: '127.0.0.1', port: 0, address: 'echo' }],
    });
    await B.router.applyConfig({ ...B.router.config, connectors: [...B.router.config.connectors, connectorTo('extra', extraPort)] });
    assert.equal(await roundTrip('after'), 'after');
    assert.equal((await echoOnce(C.router.tcpListenerPort('new')!, 'via new')).toString(), 'via new');
    await B.router.applyConfig({ ...B.router.config, connectors: B.router.config.connectors.filter((c) => c.name !== 'extra') });
    assert.equal(await roundTrip('still'), 'still');
    s.destroy();
  });

  test('1000 concurrent flows through 2 hops', async () => {
    const port = C.router.tcpListenerPort('echo-c')!;
    const N = 1000;
    const t0 = Date.now();
    const sockets: net.Socket[] = [];
    const done = await Promise.all(
      Array.from(
        { length: N },
        (_, i) =>
          new Promise<boolean>((resolve, reject) => {
            const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
            sockets.push(s);
            const msg = `flow-${i}`;
            let got = '';
            s.on('error', reject);
            s.on('connect', () => s.write(msg));
            s.on('data', (b) => {
              got += b.toString();
              if (got === msg) resolve(true);
            });
          }),
      ),
    );
    const ms = Date.now() - t0;
    assert.equal(done.length, N);
    assert.equal(C.router.status().flows.active, N);
    for (const s of sockets) s.end();
    await waitFor('all flows closed', () => routers.every((r) => r.status().flows.active === 0), 20_000);
    console.log(`# 1000 concurrent flows echoed in ${ms} ms`);
  });
});

describe('distribution', () => {
  test('several connectors for one address share the load (balanced)', async () => {
    const e1 = await echoServer('1');
    const e2 = await echoServer('2');
    const e3 = await echoServer('3');
    const A = await startRouter('DA', { tcpConnectors: [{ name: 'e1', host: '127.0.0.1', port: e1.port, address: 'svc' }] });
    const B = await startRouter(
      'DB',
      {
        tcpConnectors: [
          { name: 'e2', host: '127.0.0.1', port: e2.port, address: 'svc' },
          { name: 'e3', host: '127.0.0.1', port: e3.port, address: 'svc' },
        ],
      },
      false,
    );
    const C = await startRouter('DC', { tcpListeners: [{ name: 'svc', host: '127.0.0.1', port: 0, address: 'svc' }] }, false);
    await B.router.applyConfig({ ...B.config, connectors: [connectorTo('to-a', A.port)] });
    await C.router.applyConfig({ ...C.config, connectors: [connectorTo('to-a', A.port)] });
    await waitFor('svc in 2 sites', () => C.router.status().addresses.some((a) => a.address === 'svc' && a.remoteSites.length === 2));
    // Hold 30 flows open at once: the load spreads over all three targets.
    const port = C.router.tcpListenerPort('svc')!;
    const socks = await Promise.all(
      Array.from(
        { length: 30 },
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(port, '127.0.0.1');
            s.once('data', () => resolve(s));
          }),
      ),
    );
    const counts = [e1.connections(), e2.connections(), e3.connections()];
    assert.ok(
      counts.every((c) => c >= 5),
      `spread: ${counts}`,
    );
    for (const s of socks) s.destroy();
    for (const r of [A, B, C]) await r.router.stop();
    for (const e of [e1, e2, e3]) await e.close();
  });
});
