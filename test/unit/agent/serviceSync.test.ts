import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Announcement, RemoteSites, expiryFor, parseAnnouncement } from '../../../src/core/agent/serviceSync';
import { buildNetworkStatus, sameStatus } from '../../../src/core/agent/networkStatus';
import type { ServiceDefinition } from '../../../src/core/service/definition';

const echo: ServiceDefinition = {
  address: 'tcp-go-echo',
  protocol: 'tcp',
  ports: [9090],
  targets: [{ name: 'tcp-go-echo', selector: 'application=tcp-go-echo', targetPorts: { '9090': 9090 } }],
};

function announce(id: string, services: ServiceDefinition[], extra: Partial<Announcement> = {}): Announcement {
  return {
    kind: 'service-sync',
    version: 1,
    site: { id, name: `site-${id}`, namespace: 'default', platform: 'kubernetes' },
    services,
    intervalMs: 5000,
    sentAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

describe('service sync', () => {
  test('parses announcements from JSON text or bytes and stamps the origin', () => {
    const a = parseAnnouncement(Buffer.from(JSON.stringify(announce('pub', [echo]))));
    assert.equal(a?.services[0].origin, 'pub');
    assert.equal(parseAnnouncement('{"kind":"other"}'), undefined);
    assert.equal(parseAnnouncement('not json'), undefined);
    // A bad definition is dropped, the good ones kept.
    const mixed = parseAnnouncement(JSON.stringify(announce('pub', [echo, { ...echo, address: 'BAD' }])));
    assert.deepEqual(
      mixed?.services.map((s) => s.address),
      ['tcp-go-echo'],
    );
  });

  test('learns, notices changes, ignores itself', () => {
    const sites = new RemoteSites('me');
    assert.deepEqual(sites.receive(announce('me', [echo]), 0).added, []);
    const first = sites.receive(announce('pub', [echo]), 0);
    assert.deepEqual(first.added, [{ siteId: 'pub', address: 'tcp-go-echo' }]);
    assert.equal(first.sitesJoined[0].id, 'pub');
    const again = sites.receive(announce('pub', [echo]), 5000);
    assert.deepEqual(again, { added: [], removed: [], sitesJoined: [], sitesLeft: [] });
    const dropped = sites.receive(announce('pub', []), 10000);
    assert.deepEqual(dropped.removed, [{ siteId: 'pub', address: 'tcp-go-echo' }]);
    assert.deepEqual(sites.services(), [{ siteId: 'pub', services: [] }]);
  });

  test('forgets a silent site after 3 missed announcements plus margin (20 s)', () => {
    assert.equal(expiryFor(5000), 20000);
    const sites = new RemoteSites('me');
    sites.receive(announce('pub', [echo]), 1000);
    assert.deepEqual(sites.expire(21000).removed, []);
    const gone = sites.expire(21001);
    assert.deepEqual(gone.removed, [{ siteId: 'pub', address: 'tcp-go-echo' }]);
    assert.equal(gone.sitesLeft[0].id, 'pub');
    assert.equal(sites.announcements().length, 0);
  });

  test('a site that says bye is forgotten at once', () => {
    const sites = new RemoteSites('me');
    sites.receive(announce('pub', [echo]), 0);
    const bye = sites.receive(announce('pub', [], { bye: true }), 1);
    assert.deepEqual(
      bye.removed.map((r) => r.address),
      ['tcp-go-echo'],
    );
  });
});

describe('network status', () => {
  test('sites, links, services with where they are exposed and consumed', () => {
    const self = announce('priv', [], {
      links: [{ name: 'link1', toSiteId: 'pub', state: 'up', cost: 1 }],
      counters: { 'tcp-go-echo': { flows: 2, bytes: 100, consumed: true } },
      routers: [{ id: 'priv-router-1', mode: 'interior' }],
    });
    const pub = announce('pub', [echo], { counters: { 'tcp-go-echo': { flows: 2, bytes: 100 } } });
    const status = buildNetworkStatus(self, [pub], new Date('2026-01-01T00:00:05.000Z'));
    assert.deepEqual(
      status.sites.map((s) => [s.name, s.id, s.namespace]),
      [
        ['site-priv', 'priv', 'default'],
        ['site-pub', 'pub', 'default'],
      ],
    );
    assert.deepEqual(status.links, [{ name: 'link1', toSiteId: 'pub', toSiteName: 'site-pub', state: 'up', cost: 1, fromSiteId: 'priv' }]);
    assert.deepEqual(status.services, [
      { address: 'tcp-go-echo', protocol: 'tcp', ports: [9090], exposedIn: ['pub'], consumedIn: ['priv'], flows: 4, bytes: 200 },
    ]);
    const later = buildNetworkStatus(self, [pub], new Date('2026-01-01T00:00:10.000Z'));
    assert.equal(sameStatus(status, later), true);
    assert.equal(sameStatus(status, buildNetworkStatus(self, [], new Date())), false);
  });
});

describe('service sync with router replicas', () => {
  test('two routers of one site: one site, merged links; one saying bye keeps the site', () => {
    const sites = new RemoteSites('me');
    const r1 = announce('pub', [echo], { routers: [{ id: 'r1', mode: 'interior' }], links: [{ name: 'l1', state: 'up', cost: 1 }] });
    const r2 = announce('pub', [echo], { routers: [{ id: 'r2', mode: 'interior' }], links: [{ name: 'l2', state: 'up', cost: 1 }] });
    assert.equal(sites.receive(r1, 0).sitesJoined.length, 1);
    assert.equal(sites.receive(r2, 1).sitesJoined.length, 0);
    const [merged] = sites.announcements();
    assert.deepEqual(merged.routers?.map((r) => r.id).sort(), ['r1', 'r2']);
    assert.deepEqual(merged.links?.map((l) => l.name).sort(), ['l1', 'l2']);
    const bye = sites.receive({ ...r2, bye: true }, 2);
    assert.equal(bye.sitesLeft.length, 0);
    assert.deepEqual(
      sites.services().map((s) => s.services.map((d) => d.address)),
      [['tcp-go-echo']],
    );
  });
});
