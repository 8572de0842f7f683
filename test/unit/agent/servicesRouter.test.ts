// The services module on two real routers linked over mutual TLS: service sync over the router's
// multicast, a listener in the linked site, bytes through to the target pod.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServicesModule } from '../../../src/core/agent/servicesModule';
import { definitionToJson } from '../../../src/core/service/definition';
import type { Router } from '../../../src/core/router/router';
import { connectorTo, echoOnce, echoServer, freePort, startRouter, waitFor } from '../router/helpers';
import { fakeKube } from './fakes';

test("a service exposed at A is reachable from B, and forgotten when A's site is deleted", { timeout: 30_000 }, async () => {
  const echo = await echoServer();
  const servicePort = await freePort();
  const def = {
    address: 'echo',
    protocol: 'tcp' as const,
    ports: [servicePort],
    targets: [{ name: 'echo', selector: 'app=echo', targetPorts: { [String(servicePort)]: echo.port } }],
  };
  const kA = fakeKube({ echo: definitionToJson(def) });
  kA.state.pods.push({
    metadata: { name: 'echo-1', labels: { app: 'echo' } },
    status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const kB = fakeKube();
  const a = await startRouter('A');
  const b = await startRouter('B', {}, false);
  await b.router.applyConfig({ ...b.config, connectors: [connectorTo('to-a', a.port)] });
  const module = (name: string, r: { router: Router; config: any }, k: ReturnType<typeof fakeKube>) => {
    let config = r.config;
    return new ServicesModule({
      kube: k.kube,
      namespace: 'default',
      siteId: `site-${name}`,
      siteName: name,
      listenHost: '127.0.0.1',
      router: r.router,
      applyServices: async (s) => {
        config = { ...config, ...s };
        await r.router.applyConfig(config);
      },
      announceIntervalMs: 200,
      pollIntervalMs: 100,
    });
  };
  const mA = module('A', a, kA);
  // B binds the same port as A on the same host: give B another one by reserving A's.
  const mB = new ServicesModule({
    kube: kB.kube,
    namespace: 'default',
    siteId: 'site-B',
    siteName: 'B',
    listenHost: '127.0.0.1',
    router: b.router,
    applyServices: async (s) => b.router.applyConfig({ ...b.router.config, ...s }),
    reservedPorts: [servicePort],
    announceIntervalMs: 200,
    pollIntervalMs: 100,
  });
  try {
    await mA.start();
    await mB.start();
    await waitFor('B learns echo', () => b.router.config.tcpListeners.length === 1, 10_000);
    const listener = b.router.config.tcpListeners[0];
    assert.equal(listener.address, 'echo');
    assert.notEqual(listener.port, servicePort);
    assert.equal(kB.state.services.get('echo').spec.ports[0].targetPort, listener.port);
    await waitFor(
      'route to echo',
      () => b.router.status().addresses.some((x) => x.address === 'echo' && x.remoteSites.length === 1),
      10_000,
    );
    const out = await echoOnce(listener.port, 'hello through the VAN');
    assert.equal(out.toString(), 'hello through the VAN');
    // A's site is deleted: its agent says bye on the way out and B forgets echo at once.
    kA.state.configMaps.delete('skupper-site');
    await mA.stop();
    await waitFor('B forgets echo', () => b.router.config.tcpListeners.length === 0, 5_000);
    assert.equal(kB.state.services.has('echo'), false);
  } finally {
    await mB.stop();
    await mA.stop();
    await b.router.stop();
    await a.router.stop();
    await echo.close();
  }
});
