// Announcements from other sites, checked: every part validated, a bad entry dropped alone, intervals
// clamped, and an announcement taken only for the site of the router it came from.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildNetworkStatus } from '../../../src/core/agent/networkStatus';
import {
  ANNOUNCEMENT_LIMITS,
  type Announcement,
  RefusalThrottle,
  RemoteSites,
  checkAnnouncement,
  expiryFor,
  readAnnouncement,
} from '../../../src/core/agent/serviceSync';

const echo = { address: 'echo', protocol: 'tcp', ports: [9090], targets: [] };

function raw(siteId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'service-sync',
    version: 1,
    site: { id: siteId, name: siteId, platform: 'kubernetes' },
    services: [echo],
    intervalMs: 5000,
    sentAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

function read(body: unknown): Announcement {
  const a = readAnnouncement(body);
  assert.equal(typeof a, 'object', `read: ${String(a)}`);
  return a as Announcement;
}

describe('reading an announcement', () => {
  test('malformed links, routers and counters are dropped one by one, the rest kept', () => {
    const a = read(
      raw('pub', {
        links: [null, 5, { name: 7 }, { name: 'ok', state: 'weird', cost: -3, error: 'e'.repeat(5000), toSiteId: { x: 1 } }],
        routers: [null, { id: 'r1', mode: 'edge' }, { id: 3 }],
        counters: { echo: { flows: 2, bytes: -1, consumed: 'yes' }, bad: 5, ['x'.repeat(300)]: { flows: 1, bytes: 1 } },
      }),
    );
    assert.deepEqual(a.links, [{ name: 'ok', state: 'down', cost: 1, error: 'e'.repeat(ANNOUNCEMENT_LIMITS.errorChars) }]);
    assert.deepEqual(a.routers, [{ id: 'r1', mode: 'edge' }]);
    assert.deepEqual(a.counters, { echo: { flows: 2, bytes: 0 } });
    assert.deepEqual(
      a.services.map((s) => s.address),
      ['echo'],
    );
  });

  test('intervals are clamped to 0.1-60 s: a site announcing 1e12 ms expires like one announcing every minute', () => {
    assert.equal(read(raw('pub', { intervalMs: 1e12 })).intervalMs, ANNOUNCEMENT_LIMITS.maxIntervalMs);
    assert.equal(read(raw('pub', { intervalMs: 1 })).intervalMs, ANNOUNCEMENT_LIMITS.minIntervalMs);
    assert.equal(read(raw('pub', { intervalMs: Infinity })).intervalMs, 5000);
    assert.equal(read(raw('pub', { intervalMs: 'x' })).intervalMs, 5000);
    const sites = new RemoteSites('me');
    sites.receive(read(raw('pub', { intervalMs: 1e12 })), 0);
    assert.deepEqual(sites.expire(expiryFor(60_000) + 1).removed, [{ siteId: 'pub', address: 'echo' }]);
  });

  test('whole announcements that cannot be read give a reason', () => {
    assert.match(String(readAnnouncement('x'.repeat(ANNOUNCEMENT_LIMITS.bodyChars + 1))), /characters/);
    assert.match(String(readAnnouncement('{')), /not JSON/);
    assert.match(String(readAnnouncement('[]')), /not an object/);
    assert.match(String(readAnnouncement(JSON.stringify(raw('pub', { version: 2 })))), /version 1/);
    assert.match(String(readAnnouncement(JSON.stringify(raw('x'.repeat(257))))), /site id/);
    assert.match(String(readAnnouncement(JSON.stringify({ ...raw('pub'), site: null }))), /site id/);
  });

  test('at most 1024 services are read', () => {
    const services = Array.from({ length: 2000 }, (_, i) => ({ ...echo, address: `svc-${i}` }));
    assert.equal(read(raw('pub', { services })).services.length, ANNOUNCEMENT_LIMITS.services);
  });

  test('two routers of a site announcing null links: the sites merge and the network status builds', () => {
    const sites = new RemoteSites('me');
    sites.receive(read(raw('pub', { links: [null], routers: [{ id: 'r1', mode: 'interior' }] })), 0);
    sites.receive(read(raw('pub', { links: [null, { name: 'l1', state: 'up', cost: 1 }], routers: [{ id: 'r2', mode: 'interior' }] })), 1);
    const merged = sites.announcements();
    assert.deepEqual(merged[0].links, [{ name: 'l1', state: 'up', cost: 1 }]);
    const self = read(raw('me', { services: [] }));
    assert.doesNotThrow(() => buildNetworkStatus(self, merged, new Date(0)));
  });
});

describe('an announcement is taken only for the site of the router it came from', () => {
  const routers: Record<string, string> = { r1: 'pub', h: 'hostile', me: 'me' };
  const siteOf = (id: string) => routers[id];

  test("from the site's own router: taken, with that router as the announcement's router", () => {
    const a = checkAnnouncement(JSON.stringify(raw('pub', { routers: [{ id: 'someone-else', mode: 'edge' }] })), 'r1', siteOf);
    assert.equal(typeof a, 'object');
    assert.deepEqual((a as Announcement).routers, [{ id: 'r1', mode: 'edge' }]);
  });

  test('another site, a bye for another site, an unknown router: refused with a reason', () => {
    assert.match(
      String(checkAnnouncement(JSON.stringify(raw('fake-site')), 'h', siteOf)),
      /belongs to site hostile but announced site fake-site/,
    );
    assert.match(String(checkAnnouncement(JSON.stringify(raw('pub', { bye: true })), 'h', siteOf)), /belongs to site hostile/);
    assert.match(String(checkAnnouncement(JSON.stringify(raw('pub')), 'nobody', siteOf)), /not known here/);
    assert.match(String(checkAnnouncement(JSON.stringify(raw('pub')), undefined, siteOf)), /unknown router/);
  });

  test('refusals are reported once per sender a minute', () => {
    const t = new RefusalThrottle(60_000);
    assert.equal(t.shouldReport('h', 0), true);
    assert.equal(t.shouldReport('h', 59_999), false);
    assert.equal(t.shouldReport('other', 1), true);
    assert.equal(t.shouldReport('h', 60_000), true);
  });
});
