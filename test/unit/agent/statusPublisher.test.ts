import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NetworkStatusPublisher, SiteEventRecorder, patchStatusKeys, type StatusKube } from '../../../src/core/agent/statusPublisher';
import { ServicesModule } from '../../../src/core/agent/servicesModule';
import { definitionToJson } from '../../../src/core/service/definition';
import { bus, fakeKube } from './fakes';

function fakeStatusKube() {
  const configMaps = new Map<string, any>([['skupper-site', { metadata: { uid: 'site-uid' }, data: {} }]]);
  const events: any[] = [];
  const patches: any[] = [];
  const kube: StatusKube = {
    core: {
      readNamespacedConfigMap: async ({ name }) => {
        const cm = configMaps.get(name);
        if (!cm) throw Object.assign(new Error('nf'), { code: 404 });
        return structuredClone(cm);
      },
      createNamespacedConfigMap: async ({ body }) => {
        if (configMaps.has(body.metadata.name)) throw Object.assign(new Error('exists'), { code: 409 });
        configMaps.set(body.metadata.name, structuredClone(body));
        return body;
      },
      patchNamespacedConfigMap: async ({ name, body }, options) => {
        patches.push({ name, body, options });
        const cm = configMaps.get(name);
        if (!cm) throw Object.assign(new Error('nf'), { code: 404 });
        cm.data = { ...(cm.data ?? {}), ...body.data };
        return cm;
      },
      createNamespacedEvent: async ({ body }) => {
        events.push(body);
        return body;
      },
    },
  };
  return { kube, configMaps, events, patches };
}

describe('status ConfigMap writes', () => {
  test('creates skupper-network-status owned by the site, then merge-patches only its key', async () => {
    const f = fakeStatusKube();
    await patchStatusKeys(f.kube, 'ns', { 'network.json': '{"a":1}' }, async () => 'site-uid');
    const cm = f.configMaps.get('skupper-network-status');
    assert.deepEqual(cm.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'skupper-site', uid: 'site-uid', controller: true },
    ]);
    cm.data['site.json'] = '{"links":[]}'; // the links module's key
    await patchStatusKeys(f.kube, 'ns', { 'network.json': '{"a":2}' });
    assert.deepEqual(f.configMaps.get('skupper-network-status').data, { 'network.json': '{"a":2}', 'site.json': '{"links":[]}' });
    assert.ok(
      f.patches.every((p) => p.options),
      'patches carry the merge-patch content type',
    );
  });

  test('the recorder keeps a bounded log, publishes events.json and writes Kubernetes Events', async () => {
    const f = fakeStatusKube();
    f.configMaps.set('skupper-network-status', {
      data: {
        'events.json': JSON.stringify([
          { time: '2026-01-01T00:00:00.000Z', type: 'Normal', reason: 'Old', message: 'before restart', count: 1 },
        ]),
      },
    });
    const r = new SiteEventRecorder({ kube: f.kube, namespace: 'ns', component: 'skupper-router/pod-1', minIntervalMs: 10 });
    r.record('Normal', 'LinkUp', 'link to public is up');
    await r.start();
    r.record('Warning', 'ClaimRefused', 'claim expired');
    await r.stop();
    const log = JSON.parse(f.configMaps.get('skupper-network-status').data['events.json']);
    assert.deepEqual(
      log.map((e: any) => e.reason),
      ['Old', 'LinkUp', 'ClaimRefused'],
    );
    assert.deepEqual(
      f.events.map((e) => [e.reason, e.involvedObject.name, e.involvedObject.uid]),
      [
        ['LinkUp', 'skupper-site', 'site-uid'],
        ['ClaimRefused', 'skupper-site', 'site-uid'],
      ],
    );
    assert.deepEqual(
      r.events().map((e) => e.reason),
      ['Old', 'LinkUp', 'ClaimRefused'],
    );
  });
});

describe('network status publisher', () => {
  test('publishes network.json with both sites and the service, rate-limited, only on change', async () => {
    const join = bus();
    const def = {
      address: 'tcp-go-echo',
      protocol: 'tcp' as const,
      ports: [9090],
      targets: [{ name: 'tcp-go-echo', selector: 'application=tcp-go-echo' }],
    };
    const pubKube = fakeKube({ 'tcp-go-echo': definitionToJson(def) });
    const pub = new ServicesModule({
      kube: pubKube.kube,
      namespace: 'ns',
      siteId: 'pub',
      siteName: 'public',
      router: join('pub'),
      applyServices: () => undefined,
      announceIntervalMs: 1e6,
      pollIntervalMs: 1e6,
    });
    const priv = new ServicesModule({
      kube: fakeKube().kube,
      namespace: 'ns',
      siteId: 'priv',
      siteName: 'private',
      router: join('priv'),
      applyServices: () => undefined,
      announceIntervalMs: 1e6,
      pollIntervalMs: 1e6,
    });
    const f = fakeStatusKube();
    const publisher = new NetworkStatusPublisher({ kube: f.kube, namespace: 'ns', services: priv, minIntervalMs: 50 });
    await priv.start();
    await publisher.start();
    await pub.start();
    await new Promise((r) => setTimeout(r, 300));
    const network = JSON.parse(f.configMaps.get('skupper-network-status').data['network.json']);
    assert.deepEqual(
      network.sites.map((s: any) => s.name),
      ['private', 'public'],
    );
    assert.deepEqual(
      network.services.map((s: any) => [s.address, s.exposedIn]),
      [['tcp-go-echo', ['pub']]],
    );
    const writes = f.patches.length;
    assert.ok(writes <= 3, `rate-limited (${writes} writes)`);
    priv.emit('changed');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(f.patches.length, writes, 'nothing new: no write');
    await publisher.stop();
    await pub.stop();
    await priv.stop();
  });
});
