// Service announcements from a hostile linked site. Two real routers A and B (linked over mutual TLS)
// run the services module of their sites; A exposes `echo` (a TCP echo server here), B learns it and
// listens for it. A hostile router H connects to A with a valid certificate of the network, makes itself
// reachable (its own link-state record) and sends routed messages to the service-sync address, as a
// site's router would, but with forged or malformed content. After every case both sites still know each
// other and a TCP flow through B's `echo` listener still reaches the echo server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ServicesModule } from '../../../src/core/agent/servicesModule';
import { SERVICE_SYNC_ADDRESS } from '../../../src/core/agent/serviceSync';
import { definitionToJson } from '../../../src/core/service/definition';
import type { Router } from '../../../src/core/router/router';
import { connectorTo, echoOnce, echoServer, freePort, startRouter, waitFor } from '../router/helpers';
import { connectHostile, type Hostile } from '../router/hostile';
import { fakeKube } from './fakes';

/* eslint-disable @typescript-eslint/no-explicit-any */

describe('service announcements from a hostile linked site', { timeout: 120_000 }, () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let A: { router: Router; port: number; config: any };
  let B: { router: Router; port: number; config: any };
  let mA: ServicesModule;
  let mB: ServicesModule;
  let kA: ReturnType<typeof fakeKube>;
  let H: Hostile;
  let H2: Hostile;
  /** Added to B's clock (expiry tests). */
  let skewB = 0;
  let markers = 0;
  let servicePort = 0;

  const sites = (m: ServicesModule) => (m as any).remote.announcements().map((a: any) => a.site.id) as string[];
  const servicesOf = (m: ServicesModule, siteId: string) =>
    ((m as any).remote.services() as { siteId: string; services: { address: string }[] }[])
      .find((s) => s.siteId === siteId)
      ?.services.map((s) => s.address) ?? [];
  const listeners = (r: Router) => r.config.tcpListeners.map((l) => l.address);

  function announcement(siteId: string, extra: Record<string, unknown> = {}) {
    return {
      kind: 'service-sync',
      version: 1,
      site: { id: siteId, name: siteId, namespace: 'default', platform: 'kubernetes' },
      services: [],
      intervalMs: 5000,
      sentAt: new Date().toISOString(),
      ...extra,
    };
  }

  function service(address: string, port: number) {
    return JSON.parse(definitionToJson({ address, protocol: 'tcp', ports: [port], targets: [] }));
  }

  /** A routed message to the service-sync address at routers `dsts`, claiming source `src`. */
  async function announce(h: Hostile, body: unknown, dsts = ['A', 'B'], src = h.id): Promise<void> {
    for (const dst of dsts) await h.send(h.envelope(dst, src, SERVICE_SYNC_ADDRESS, JSON.stringify(body)));
  }

  /** Everything H sent before has reached both modules once both know H's marker service. */
  async function processed(h: Hostile): Promise<void> {
    const marker = `marker-${++markers}`;
    await announce(h, announcement('site-H', { services: [service(marker, 40_000 + markers)] }));
    await waitFor(`both sites take ${marker}`, () => [mA, mB].every((m) => servicesOf(m, 'site-H').includes(marker)));
  }

  async function networkHolds(): Promise<void> {
    assert.ok(sites(mA).includes('site-B'), 'A still knows site B');
    assert.ok(sites(mB).includes('site-A'), 'B still knows site A');
    await waitFor('B listens for echo', () => listeners(B.router).includes('echo'));
    const port = B.router.config.tcpListeners.find((l) => l.address === 'echo')!.port;
    assert.equal((await echoOnce(port, 'still routing', 5000)).toString(), 'still routing');
  }

  before(async () => {
    echo = await echoServer();
    servicePort = await freePort();
    const def = {
      address: 'echo',
      protocol: 'tcp' as const,
      ports: [servicePort],
      targets: [{ name: 'echo', selector: 'app=echo', targetPorts: { [String(servicePort)]: echo.port } }],
    };
    kA = fakeKube({ echo: definitionToJson(def) });
    kA.state.pods.push({
      metadata: { name: 'echo-1', labels: { app: 'echo' } },
      status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
    });
    A = await startRouter('A');
    B = await startRouter('B', {}, false);
    await B.router.applyConfig({ ...B.config, connectors: [connectorTo('to-a', A.port)] });
    const common = { namespace: 'default', listenHost: '127.0.0.1', announceIntervalMs: 5000, pollIntervalMs: 200 };
    mA = new ServicesModule({
      ...common,
      kube: kA.kube,
      siteId: 'site-A',
      siteName: 'A',
      router: A.router,
      applyServices: async (s) => A.router.applyConfig({ ...A.router.config, ...s }),
    });
    mB = new ServicesModule({
      ...common,
      kube: fakeKube().kube,
      siteId: 'site-B',
      siteName: 'B',
      router: B.router,
      reservedPorts: [servicePort, servicePort + 1],
      applyServices: async (s) => B.router.applyConfig({ ...B.router.config, ...s }),
      now: () => Date.now() + skewB,
    });
    await mA.start();
    await mB.start();
    await waitFor('B listens for echo', () => listeners(B.router).includes('echo'), 15_000);
    H = await connectHostile(A.port, { id: 'H', victim: 'A', siteId: 'site-H' });
    H2 = await connectHostile(A.port, { id: 'H2', victim: 'A', siteId: 'site-H' });
    for (const h of [H, H2]) await h.send({ t: 'lsa', lsa: h.ownRecord() });
    await waitFor('B reaches H and H2', () => ['H', 'H2'].every((id) => B.router.status().routers.some((r) => r.id === id)));
    await networkHolds();
  });

  after(async () => {
    await H?.close();
    await H2?.close();
    await mA?.stop();
    await mB?.stop();
    await B?.router.stop();
    await A?.router.stop();
    await echo?.close();
  });

  test('a linked site cannot announce a site that is not its own (a fake site exposing postgres, never expiring)', async () => {
    await announce(H, announcement('fake-site', { services: [service('postgres', 5432)], intervalMs: 1e12 }));
    await processed(H);
    for (const m of [mA, mB]) assert.ok(!sites(m).includes('fake-site'), 'the fake site is not known');
    assert.ok(!listeners(B.router).includes('postgres'), 'B does not listen for the fake postgres');
    await networkHolds();
  });

  test("a bye for another site's id is refused", async () => {
    // Naming the other site's router too, as its own bye would.
    await announce(H, announcement('site-A', { bye: true, routers: [{ id: 'A', mode: 'interior' }] }), ['B']);
    await announce(H, announcement('site-B', { bye: true, routers: [{ id: 'B', mode: 'interior' }] }), ['A']);
    await processed(H);
    await networkHolds();
  });

  test('a routed message forged with another router as its source is dropped', async () => {
    // As if B said bye to A, and A said bye to B: H is not on the way from either.
    await announce(H, announcement('site-B', { bye: true, routers: [{ id: 'B', mode: 'interior' }] }), ['A'], 'B');
    await announce(H, announcement('site-A', { bye: true, routers: [{ id: 'A', mode: 'interior' }] }), ['B'], 'A');
    await processed(H);
    await networkHolds();
  });

  test('malformed links (links: [null]) from two routers of one site break reconciliation on neither site', async () => {
    const tag = new Date(Date.now() + 1000).toISOString();
    await announce(H, announcement('site-H', { links: [null], routers: [{ id: 'H', mode: 'interior' }], sentAt: tag }));
    await announce(H2, announcement('site-H', { links: [null, 5, { name: 7 }], routers: [{ id: 'H2', mode: 'interior' }], sentAt: tag }));
    const heard = (m: ServicesModule, router: string) => (m as any).remote.sites.get(`site-H/${router}`)?.announcement.sentAt === tag;
    await waitFor('both sites hear H and H2', () => [mA, mB].every((m) => heard(m, 'H') && heard(m, 'H2')));
    for (const m of [mA, mB]) assert.doesNotThrow(() => (m as any).remote.announcements(), 'the remote sites still merge');
    // Reconciliation still works on both sites: a new service at A reaches B's listeners.
    const echo2 = {
      address: 'echo2',
      protocol: 'tcp' as const,
      ports: [servicePort + 1],
      targets: [{ name: 'echo', selector: 'app=echo', targetPorts: { [String(servicePort + 1)]: echo.port } }],
    };
    kA.state.configMaps.get('skupper-services').data.echo2 = definitionToJson(echo2);
    mA.trigger();
    await waitFor('B listens for echo2', () => listeners(B.router).includes('echo2'), 15_000);
    await networkHolds();
  });

  test('an announced interval is clamped: a site announcing intervalMs 1e12 is forgotten once silent', async () => {
    await announce(H, announcement('site-H', { services: [service('h-postgres', 5433)], intervalMs: 1e12 }));
    await waitFor('B knows h-postgres', () => servicesOf(mB, 'site-H').includes('h-postgres'));
    // Silent for 3 intervals of at most 60 s, plus the 5 s margin.
    skewB += 3 * 60_000 + 5_000 + 1_000;
    (mB as any).tick();
    assert.ok(!servicesOf(mB, 'site-H').includes('h-postgres'), 'B forgot the silent site');
    // A announced meanwhile (by B's new clock): B knows it again at its next announcement.
    await waitFor('B hears A again', () => sites(mB).includes('site-A'), 10_000);
    await networkHolds();
  });
});
