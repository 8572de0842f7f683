import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ServicesModule } from '../../../src/core/agent/servicesModule';
import { definitionToJson, type ServiceDefinition } from '../../../src/core/service/definition';
import { CONTROLLED_ANNOTATION } from '../../../src/core/agent/servicesReconcile';
import { bus, fakeKube, reachable, routerStatus } from './fakes';

const echo: ServiceDefinition = {
  address: 'tcp-go-echo',
  protocol: 'tcp',
  ports: [9090],
  targets: [{ name: 'tcp-go-echo', selector: 'application=tcp-go-echo', targetPorts: { '9090': 9090 } }],
};
const pod = (name: string, ip: string, ready = true) => ({
  metadata: { name, labels: { application: 'tcp-go-echo' } },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

describe('services module', () => {
  test('exposing site: connectors per ready pod; linked site: listener and Service; then forgotten', async () => {
    const join = bus();
    const pub = fakeKube({ 'tcp-go-echo': definitionToJson(echo) });
    pub.state.pods.push(pod('tcp-go-echo-a', '127.0.9.1'), pod('tcp-go-echo-b', '127.0.9.2', false));
    const priv = fakeKube();
    priv.state.services.set('skupper-router', {
      metadata: { name: 'skupper-router', annotations: { [CONTROLLED_ANNOTATION]: 'true' } },
      spec: { ports: [{ port: 55671 }] },
    });
    let clock = 0;
    const events: string[] = [];
    const applied: Record<string, any> = {};
    const mk = (name: string, k: ReturnType<typeof fakeKube>, host: string) =>
      new ServicesModule({
        kube: k.kube,
        namespace: 'default',
        siteId: `${name}-id`,
        siteName: name,
        listenHost: host,
        router: join(name),
        events: { record: (type, reason, message) => events.push(`${name} ${reason}: ${message}`) },
        applyServices: (s) => {
          applied[name] = s;
        },
        reservedPorts: [55671, 45671],
        announceIntervalMs: 1_000_000,
        pollIntervalMs: 1_000_000,
        now: () => clock,
      });
    const a = mk('public', pub, '127.0.8.1');
    const b = mk('private', priv, '127.0.8.2');
    await b.start();
    await a.start();
    await b.reconcile();
    assert.deepEqual(applied.public.tcpConnectors, [
      { name: 'tcp-go-echo:9090@tcp-go-echo-a:9090', host: '127.0.9.1', port: 9090, address: 'tcp-go-echo' },
    ]);
    assert.deepEqual(applied.public.tcpListeners, [{ name: 'tcp-go-echo:9090', host: '127.0.8.1', port: 9090, address: 'tcp-go-echo' }]);
    assert.deepEqual(applied.private.tcpConnectors, []);
    assert.deepEqual(applied.private.tcpListeners, [{ name: 'tcp-go-echo:9090', host: '127.0.8.2', port: 9090, address: 'tcp-go-echo' }]);
    const svc = priv.state.services.get('tcp-go-echo');
    assert.equal(svc.metadata.annotations[CONTROLLED_ANNOTATION], 'true');
    assert.deepEqual(svc.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'skupper-site', uid: 'site-uid', controller: true },
    ]);
    assert.deepEqual(svc.spec.selector, { application: 'skupper-router', 'skupper.io/component': 'router' });
    assert.deepEqual(svc.spec.ports, [{ name: 'port9090', port: 9090, targetPort: 9090, protocol: 'TCP' }]);
    assert.ok(events.some((e) => e.startsWith('private ServiceAdded: service tcp-go-echo (tcp 9090) from site public')));

    // Scale: pod b turns ready.
    pub.state.pods[1] = pod('tcp-go-echo-b', '127.0.9.2', true);
    await a.reconcile();
    assert.equal(applied.public.tcpConnectors.length, 2);

    // The public agent restarts (its site still exists): no bye, private keeps the service.
    await a.stop();
    await b.reconcile();
    assert.equal(applied.private.tcpListeners.length, 1);
    assert.equal(priv.state.services.has('tcp-go-echo'), true);

    // The public site goes silent: after 20 s (3 × 5 s + 5 s) its service is forgotten.
    // (Its announce interval is huge here, so expiry uses the default 5 s interval of... the announcement.)
    clock += 3 * 1_000_000 + 5_001;
    (b as any).tick();
    await b.reconcile();
    assert.deepEqual(applied.private.tcpListeners, []);
    assert.equal(priv.state.services.has('tcp-go-echo'), false);
    assert.equal(priv.state.services.has('skupper-router'), true, 'never touches a Service it does not own');
    assert.ok(events.some((e) => e.startsWith('private ServiceRemoved: service tcp-go-echo')));
    await a.stop();
    await b.stop();
  });

  test('a user-owned Service with the address is left alone, with a warning', async () => {
    const join = bus();
    const k = fakeKube({ 'tcp-go-echo': definitionToJson(echo) });
    k.state.services.set('tcp-go-echo', {
      metadata: { name: 'tcp-go-echo' },
      spec: { selector: { application: 'tcp-go-echo' }, ports: [{ port: 9090 }] },
    });
    const events: string[] = [];
    const m = new ServicesModule({
      kube: k.kube,
      namespace: 'default',
      siteId: 's',
      siteName: 's',
      router: join('s'),
      events: { record: (_t, reason, message) => events.push(`${reason}: ${message}`) },
      applyServices: () => undefined,
      announceIntervalMs: 1e6,
      pollIntervalMs: 1e6,
    });
    await m.start();
    assert.deepEqual(k.state.services.get('tcp-go-echo').spec.selector, { application: 'tcp-go-echo' });
    assert.ok(events.some((e) => /^ServiceConflict: a Service named tcp-go-echo already exists and is not managed by the site/.test(e)));
    await m.stop();
  });
});

describe('services module on a local site (no Kubernetes)', () => {
  test("learns the network's services, listens only for the forwarded ones, at the chosen port", async () => {
    const join = bus();
    const k = fakeKube({ 'tcp-go-echo': definitionToJson(echo) });
    k.state.pods.push(pod('tcp-go-echo-a', '127.0.9.1'));
    let applied: any;
    let forwards: { address: string; host: string; port: number }[] = [];
    const cluster = new ServicesModule({
      kube: k.kube,
      namespace: 'default',
      siteId: 'pub',
      siteName: 'public',
      router: join('pub'),
      applyServices: () => undefined,
      announceIntervalMs: 1e6,
      pollIntervalMs: 1e6,
    });
    const laptop = new ServicesModule({
      namespace: '/home/me/.van/laptop',
      siteId: 'lap',
      siteName: 'laptop',
      platform: 'local',
      listenHost: '127.0.0.1',
      router: join('lap'),
      applyServices: (s) => void (applied = s),
      reservedPorts: [9090],
      announceIntervalMs: 1e6,
      pollIntervalMs: 1e6,
      readLocal: async () => ({ definitions: [], forwards, errors: [] }),
    });
    await laptop.start();
    await cluster.start();
    await laptop.reconcile();
    assert.deepEqual(
      laptop.remote.services().flatMap((s) => s.services.map((d) => d.address)),
      ['tcp-go-echo'],
      'the laptop knows the service',
    );
    assert.deepEqual(applied, { tcpListeners: [], tcpConnectors: [] }, 'and opens no port for it');
    forwards = [{ address: 'tcp-go-echo', host: '127.0.0.1', port: 19090 }];
    await laptop.reconcile();
    assert.deepEqual(applied, {
      tcpListeners: [{ name: 'forward/tcp-go-echo', host: '127.0.0.1', port: 19090, address: 'tcp-go-echo' }],
      tcpConnectors: [],
    });
    assert.equal(laptop.announcement().site.platform, 'local');
    await cluster.stop();
    await laptop.stop();
  });
});

describe('services module after a restart', () => {
  test('keeps Services it has not seen go away for one expiry window, then removes them', async () => {
    const join = bus();
    const k = fakeKube();
    k.state.services.set('tcp-go-echo', {
      metadata: {
        name: 'tcp-go-echo',
        labels: { 'internal.skupper.io/address': 'tcp-go-echo' },
        annotations: { [CONTROLLED_ANNOTATION]: 'true' },
      },
      spec: { ports: [{ port: 9090, targetPort: 9090 }] },
    });
    let clock = 0;
    const m = new ServicesModule({
      kube: k.kube,
      namespace: 'default',
      siteId: 's',
      siteName: 's',
      router: join('s'),
      applyServices: () => undefined,
      announceIntervalMs: 5000,
      pollIntervalMs: 1e6,
      now: () => clock,
    });
    await m.start();
    assert.equal(k.state.services.has('tcp-go-echo'), true, 'kept while the agent has not heard the network');
    clock = 20_001;
    await m.reconcile();
    assert.equal(k.state.services.has('tcp-go-echo'), false, 'removed once nobody announced it for a full window');
    await m.stop();
  });
});

describe('readiness: a router waits (briefly) for its links and for the services of the sites it reaches', () => {
  test('link coming up, then a site not heard, then ready; never longer than the grace time', async () => {
    const join = bus();
    const clock = 1_000_000;
    const base = join('r');
    let status = routerStatus('r', {
      connections: [
        { name: 'link1', role: 'inter-router', direction: 'outgoing' as const, state: 'connecting', since: '', cost: 1 },
      ] as any[],
    });
    const router = { ...base, status: () => status };
    const m = new ServicesModule({
      namespace: 'ns',
      siteId: 'me',
      siteName: 'me',
      router,
      applyServices: () => undefined,
      announceIntervalMs: 1e6,
      pollIntervalMs: 1e6,
      readyGraceMs: 10_000,
      now: () => clock,
    });
    await m.start();
    assert.equal(m.notReady(), 'link link1 is coming up');
    status.connections[0] = { ...status.connections[0], state: 'up' };
    status = { ...status, routers: [reachable('r', 'me'), reachable('p', 'pub')] };
    assert.equal(m.notReady(), 'waiting for the services of 1 site(s) it reaches');
    // the other site announces: heard
    const pub = new ServicesModule({
      namespace: 'ns',
      siteId: 'pub',
      siteName: 'public',
      router: join('p'),
      applyServices: () => undefined,
      announceIntervalMs: 1e6,
      pollIntervalMs: 1e6,
    });
    await pub.start();
    assert.equal(m.notReady(), undefined);
    // once ready, a link added later (coming up, a site not heard) does not take the router away
    status = {
      ...status,
      connections: [
        ...status.connections,
        { name: 'link2', role: 'inter-router', direction: 'outgoing', state: 'connecting', since: '', cost: 1 } as any,
      ],
      routers: [...status.routers, reachable('e', 'east')],
    };
    assert.equal(m.notReady(), undefined);
    await pub.stop();
    await m.stop();
  });

  test('a link that failed does not hold the router back, nor a site never heard after the grace time', async () => {
    let clock = 1_000_000;
    const status = routerStatus('r', {
      connections: [
        {
          name: 'link1',
          role: 'inter-router',
          direction: 'outgoing' as const,
          state: 'connecting',
          since: '',
          cost: 1,
          lastError: 'connection refused',
        },
      ] as any[],
    });
    const m = new ServicesModule({
      namespace: 'ns',
      siteId: 'me',
      siteName: 'me',
      router: { ...bus()('r'), status: () => status },
      applyServices: () => undefined,
      announceIntervalMs: 1e6,
      pollIntervalMs: 1e6,
      readyGraceMs: 10_000,
      now: () => clock,
    });
    await m.start();
    status.routers = [reachable('e', 'east')];
    assert.match(m.notReady() ?? '', /waiting for the services of 1 site/, 'the failed link is no reason; the unheard site is');
    clock += 10_001;
    assert.equal(m.notReady(), undefined);
    await m.stop();
  });
});
