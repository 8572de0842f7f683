import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AgentSite, buildRouterConfig, linkFromSecret, linkProblem, linkTlsFiles } from '../../../src/core/agent/routerConfig';
import { parseRouterConfig } from '../../../src/core/router/config';

const tls = { ca: '/certs/ca.crt', cert: '/certs/tls.crt', key: '/certs/tls.key' };
const site: AgentSite = {
  id: 'uid-1',
  name: 'west',
  mode: 'interior',
  ingress: 'loadbalancer',
  routerId: 'skupper-router-abc',
  listenHost: '127.0.0.7',
  localHost: '127.0.0.7',
  serverTls: tls,
};
const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (name: string, annotations: Record<string, string>) => ({
  metadata: { name, annotations },
  data: { 'ca.crt': b64('CA'), 'tls.crt': b64('CERT'), 'tls.key': b64('KEY') },
});

describe('buildRouterConfig', () => {
  test('interior with ingress: mTLS inter-router and edge listeners on the pod IP, plain AMQP locally', () => {
    const c = buildRouterConfig(site, []);
    assert.deepEqual(c.listeners, [
      { name: 'inter-router', host: '127.0.0.7', port: 55671, role: 'inter-router', tls },
      { name: 'edge', host: '127.0.0.7', port: 45671, role: 'edge', tls },
      { name: 'amqp', host: '127.0.0.7', port: 5672, role: 'normal' },
    ]);
    assert.equal(c.id, 'skupper-router-abc');
    assert.equal(c.siteId, 'uid-1');
    assert.equal(c.siteName, 'west');
    assert.deepEqual(parseRouterConfig(JSON.parse(JSON.stringify(c))), c, 'valid for the router');
  });

  test('ingress none, and edge mode, open no inter-router or edge listener', () => {
    for (const s of [
      { ...site, ingress: 'none' as const },
      { ...site, mode: 'edge' as const },
    ]) {
      const c = buildRouterConfig(s, []);
      assert.deepEqual(
        c.listeners.map((l) => l.role),
        ['normal'],
      );
    }
  });

  test('one connector per link secret, sorted, with its TLS files in the private folder', () => {
    const links = [
      linkFromSecret(
        secret('to-east', {
          'inter-router-host': 'east.example',
          'inter-router-port': '55671',
          'edge-host': 'east.example',
          'edge-port': '45671',
          'skupper.io/cost': '3',
        }),
      ),
      linkFromSecret(secret('to-central', { 'inter-router-host': '127.0.0.9', 'inter-router-port': '55671' })),
    ];
    const c = buildRouterConfig(site, links, undefined, '/run/links');
    assert.deepEqual(c.connectors, [
      { name: 'to-central', host: '127.0.0.9', port: 55671, role: 'inter-router', tls: linkTlsFiles('/run/links', 'to-central') },
      {
        name: 'to-east',
        host: 'east.example',
        port: 55671,
        role: 'inter-router',
        cost: 3,
        tls: { ca: '/run/links/to-east/ca.crt', cert: '/run/links/to-east/tls.crt', key: '/run/links/to-east/tls.key' },
      },
    ]);
    const edge = buildRouterConfig({ ...site, mode: 'edge' }, links, undefined, '/run/links');
    assert.deepEqual(
      edge.connectors.map((x) => `${x.name} ${x.role} ${x.port}`),
      ['to-east edge 45671'],
      'an edge site uses the edge port; a link without one is skipped',
    );
    assert.match(linkProblem(links[1], 'edge')!, /no edge-host\/port/);
  });

  test('a secret without its certificates is skipped', () => {
    const broken = linkFromSecret({
      metadata: { name: 'x', annotations: { 'inter-router-host': 'h', 'inter-router-port': '1' } },
      data: {},
    });
    assert.match(linkProblem(broken, 'interior')!, /lacks ca\.crt/);
    assert.deepEqual(buildRouterConfig(site, [broken]).connectors, []);
  });

  test('services pass through unchanged', () => {
    const services = {
      tcpListeners: [{ name: 'echo:9090', host: '127.0.0.7', port: 9090, address: 'echo:9090' }],
      tcpConnectors: [{ name: 'echo-pod', host: '127.0.0.12', port: 9090, address: 'echo:9090' }],
    };
    const c = buildRouterConfig(site, [], services);
    assert.deepEqual(c.tcpListeners, services.tcpListeners);
    assert.deepEqual(c.tcpConnectors, services.tcpConnectors);
  });
});

describe('sharesHostLoopback', () => {
  test('a pod IP on a loopback interface (the stand-in) shares the host loopback; one on eth0 does not', async () => {
    const { sharesHostLoopback } = await import('../../../src/core/agent/hosts');
    const lo = (address: string) => ({ address, internal: true, family: 'IPv4', netmask: '255.0.0.0', mac: '', cidr: null }) as never;
    const eth = (address: string) => ({ address, internal: false, family: 'IPv4', netmask: '255.255.255.0', mac: '', cidr: null }) as never;
    assert.equal(sharesHostLoopback('10.100.1.8', { lo: [lo('127.0.0.1'), lo('10.100.1.8')], eth0: [eth('192.0.2.2')] }), true);
    assert.equal(sharesHostLoopback('10.244.0.5', { lo: [lo('127.0.0.1')], eth0: [eth('10.244.0.5')] }), false);
    assert.equal(sharesHostLoopback('127.0.0.7', {}), true);
    assert.equal(sharesHostLoopback(undefined, {}), false);
  });
});
