// Routers on loopback: a mesh whose middle router is killed (traffic resumes over another path), a ring
// of five, and the config file reloaded live by a router process.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, connectorTo, dir, echoOnce, echoServer, freePort, networkPki, startRouter, waitFor } from '../unit/router/helpers.js';
import { getJson, startRouterChild, type Child } from './router-helpers.js';
import type { Router } from '../../src/core/router/router.js';

describe('mesh A - M - C with a costly direct link A - C', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  test('the middle router is killed; traffic resumes over the direct link', async () => {
    const echo = await echoServer();
    cleanup.push(() => echo.close());
    const C = await startRouter('C', { tcpConnectors: [{ name: 'echo', host: '127.0.0.1', port: echo.port, address: 'echo' }] });
    cleanup.push(() => C.router.stop());
    const mPort = await freePort();
    const M: Child = await startRouterChild(
      baseConfig('M', {
        listeners: [{ name: 'ir', host: '127.0.0.1', port: mPort, role: 'inter-router', tls: networkPki().router }],
        connectors: [connectorTo('to-c', C.port)],
      }),
    );
    cleanup.push(() => M.kill('SIGKILL'));
    const A = await startRouter('A', { tcpListeners: [{ name: 'echo', host: '127.0.0.1', port: 0, address: 'echo' }] }, false);
    cleanup.push(() => A.router.stop());
    await A.router.applyConfig({ ...A.config, connectors: [connectorTo('to-m', mPort, 1), connectorTo('to-c', C.port, 10)] });
    await waitFor('A routes to C through M', () => A.router.status().routers.find((r) => r.id === 'C')?.nextHop === 'M', 15_000);
    const port = A.router.tcpListenerPort('echo')!;
    assert.equal((await echoOnce(port, 'via M')).toString(), 'via M');

    // A long-lived flow through M.
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    s.on('error', () => {});
    await new Promise<void>((r) => s.once('data', () => r()).write('x'));
    const closed = new Promise<number>((r) => s.once('close', () => r(Date.now())));

    const killedAt = Date.now();
    await M.kill('SIGKILL');
    await waitFor('A re-routes to C directly', () => A.router.status().routers.find((r) => r.id === 'C')?.nextHop === 'C', 10_000);
    const rerouteMs = Date.now() - killedAt;
    assert.equal(A.router.status().routers.find((r) => r.id === 'C')!.cost, 10);
    // M leaves the table once C has also noticed it is gone (C's next link-state update): not necessarily before.
    await waitFor('A forgets M', () => !A.router.status().routers.some((r) => r.id === 'M'), 10_000);
    assert.equal((await echoOnce(port, 'direct')).toString(), 'direct');
    const closedAt = await closed;
    assert.ok(closedAt - killedAt < 3000, `the flow through the dead router is closed promptly (${closedAt - killedAt} ms)`);
    const down = A.router.status().connections.find((c) => c.name === 'to-m')!;
    assert.notEqual(down.state, 'up');
    assert.ok(down.lastError);
    console.log(`# re-routed ${rerouteMs} ms after the kill`);
  });
});

describe('a ring of five routers', () => {
  test('2 hops the short way; re-routes the long way when a router stops', async () => {
    const echo = await echoServer();
    const ids = ['R1', 'R2', 'R3', 'R4', 'R5'];
    const rs: Awaited<ReturnType<typeof startRouter>>[] = [];
    for (const id of ids) {
      rs.push(
        await startRouter(id, {
          ...(id === 'R3' ? { tcpConnectors: [{ name: 'echo', host: '127.0.0.1', port: echo.port, address: 'echo' }] } : {}),
          ...(id === 'R1' ? { tcpListeners: [{ name: 'echo', host: '127.0.0.1', port: 0, address: 'echo' }] } : {}),
        }),
      );
    }
    for (let i = 0; i < 5; i++) {
      const next = rs[(i + 1) % 5];
      await rs[i].router.applyConfig({ ...rs[i].config, connectors: [connectorTo(`to-${ids[(i + 1) % 5]}`, next.port)] });
    }
    const r1: Router = rs[0].router;
    await waitFor('ring converged', () => r1.status().routers.length === 4);
    assert.deepEqual(
      r1.status().routers.find((r) => r.id === 'R3'),
      { id: 'R3', siteId: 'site-R3', siteName: 'site-R3', nextHop: 'R2', cost: 2 },
    );
    const port = r1.tcpListenerPort('echo')!;
    assert.equal((await echoOnce(port, 'short way')).toString(), 'short way');
    await rs[1].router.stop();
    await waitFor('long way', () => r1.status().routers.find((r) => r.id === 'R3')?.nextHop === 'R5');
    assert.equal(r1.status().routers.find((r) => r.id === 'R3')!.cost, 3);
    assert.equal((await echoOnce(port, 'long way')).toString(), 'long way');
    for (const r of rs) await r.router.stop();
    await echo.close();
  });
});

describe('router process', () => {
  test('re-applies its config file when it changes; a flow on an unchanged listener survives', async () => {
    const echo = await echoServer();
    const tcpPort = await freePort();
    const newPort = await freePort();
    const mgmt = await freePort();
    const config = baseConfig('P', {
      tcpListeners: [{ name: 'one', host: '127.0.0.1', port: tcpPort, address: 'echo' }],
      tcpConnectors: [{ name: 'echo', host: '127.0.0.1', port: echo.port, address: 'echo' }],
      management: { host: '127.0.0.1', port: mgmt },
    });
    const child = await startRouterChild(config);
    try {
      const s = net.connect({ port: tcpPort, host: '127.0.0.1', noDelay: true });
      await new Promise<void>((r) => s.once('data', () => r()).write('1'));
      writeFileSync(
        join(dir, 'router-P.json'),
        JSON.stringify({
          ...config,
          tcpListeners: [...config.tcpListeners, { name: 'two', host: '127.0.0.1', port: newPort, address: 'echo' }],
        }),
      );
      const until = Date.now() + 8000;
      let ok = false;
      while (!ok && Date.now() < until) {
        ok = await echoOnce(newPort, 'two', 1000).then(
          (b) => b.toString() === 'two',
          () => false,
        );
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ok, 'the new tcp listener answers');
      const again = await new Promise<string>((r) => s.once('data', (b) => r(b.toString())).write('still here'));
      assert.equal(again, 'still here');
      const status = await getJson(mgmt, '/status');
      assert.equal(status.tcpListeners.length, 2);
      s.destroy();
    } finally {
      await child.kill('SIGTERM');
      await echo.close();
    }
  });
});
