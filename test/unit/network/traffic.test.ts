// The network's traffic: what a site publishes (bounded), what a reader accepts (checked), how the two
// ends of a site pair merge, the diagnosis beside the links, and the published size at 50 sites x 50 services.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Announcement, readAnnouncement } from '../../../src/core/agent/serviceSync';
import { buildNetworkStatus } from '../../../src/core/agent/networkStatus';
import {
  PUBLISHED_LIMITS,
  diagnose,
  mergeTrafficOf,
  pairTraffic,
  publishTraffic,
  readPublishedTraffic,
  recentFlows,
  serviceTraffic,
  sitePairTraffic,
  trafficOfNetwork,
} from '../../../src/core/network/traffic';
import { TrafficRecorder, ttfbBucket } from '../../../src/core/router/traffic';
import type { ServiceDefinition } from '../../../src/core/service/definition';

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

describe('published traffic', () => {
  test('bounded rows: the most active kept, the rest folded into (other) with the totals kept', () => {
    let now = 0;
    const r = new TrafficRecorder({ now: () => ++now });
    let total = 0;
    for (let i = 0; i < 100; i++) {
      r.closed(r.opened(`svc-${i}`, 'a', `b${i % 7}`, i % 2 ? 'listener' : 'connector'), i, 2 * i, 1, i % 10 === 0 ? 'reset' : undefined);
      total += i;
    }
    const p = publishTraffic(r.snapshot());
    assert.ok(p.rows.length <= PUBLISHED_LIMITS.rows, `${p.rows.length} rows`);
    assert.equal(
      p.rows.reduce((s, x) => s + x[7], 0),
      total,
    );
    assert.equal(
      p.rows.reduce((s, x) => s + x[4], 0),
      100,
    );
    // The newest activity is kept by name.
    assert.ok(p.rows.some((x) => x[0] === 'svc-99'));
    assert.equal(p.recent.length, PUBLISHED_LIMITS.recent);
    // Read back unchanged.
    assert.deepEqual(readPublishedTraffic(JSON.parse(JSON.stringify(p))), p);
  });

  test('what another site publishes is checked: junk dropped, numbers non-negative, text bounded', () => {
    const raw = {
      at: 5,
      rows: [
        ['ok', 'a', 'b', 1, 3, 2, 1, 10, 20, [0, 1], 0.5, [['x'.repeat(5000), 2]]],
        'junk',
        [42],
        ['neg', 'a', 'b', 9, -5, 'x', null, Infinity, 1, 'nope', 0, 'nope'],
      ],
      recent: [['f', 'a', 'b', 0, 1, 2, 3, 4, 0.2, 'weird', 'why\u0007']],
    };
    const p = readPublishedTraffic(raw)!;
    assert.equal(p.rows.length, 2);
    assert.equal(p.rows[0][11][0][0].length, PUBLISHED_LIMITS.textChars);
    assert.deepEqual(p.rows[1].slice(3, 10), [0, 0, 0, 0, 0, 1, []]);
    assert.equal(p.recent[0][9], 'closed');
    assert.equal(p.recent[0][10], 'why');
    assert.equal(readPublishedTraffic('nope'), undefined);
    const bad = trafficOfNetwork(JSON.parse('{"traffic":{"__proto__":{"at":1},"s":{"at":2,"rows":[],"recent":[]}}}'));
    assert.deepEqual(Object.keys(bad), ['s']);
  });

  test('a site pair: flows and bytes from the listener side, ttfb from the connector side, a reset counted once', () => {
    const client = new TrafficRecorder();
    const server = new TrafficRecorder();
    for (let i = 0; i < 4; i++) {
      const c = client.opened('echo', 'private', 'public', 'listener');
      const s = server.opened('echo', 'private', 'public', 'connector');
      const reason = i === 3 ? 'the connection was reset' : undefined;
      client.closed(c, 100, 50, 40, reason);
      server.closed(s, 100, 50, 3, reason);
    }
    const bySite = { private: publishTraffic(client.snapshot()), public: publishTraffic(server.snapshot()) };
    const [pair] = pairTraffic(bySite);
    assert.deepEqual(
      [pair.flowsTotal, pair.bytesOut, pair.bytesIn, pair.errors, pair.errorReasons],
      [4, 400, 200, 1, [{ reason: 'the connection was reset', count: 1 }]],
    );
    // 3 ms lies in bucket (2, 4]: the connector's figure, not the client's 40 ms.
    assert.ok(pair.ttfbMsP50! > 2 && pair.ttfbMsP50! <= 4, `p50 ${pair.ttfbMsP50}`);
    const svc = serviceTraffic(pairTraffic(bySite), 'echo');
    assert.deepEqual([svc.flowsTotal, svc.bytesOut, svc.errors], [4, 400, 1]);
    assert.equal(sitePairTraffic(pairTraffic(bySite))[0].flowsTotal, 4);
    assert.equal(recentFlows(bySite, 'echo').length, 8);
    assert.equal(recentFlows(bySite, 'other').length, 0);
    // The newest publication of a site wins when several network.json carry it.
    const older = { traffic: { public: { ...bySite.public, at: bySite.public.at - 1000, rows: [] } } };
    const merged = mergeTrafficOf([older, { traffic: bySite }]);
    assert.equal(merged.public.rows.length, 1);
  });

  test('diagnosis: a service pair worst first, with the links on the path between its sites', () => {
    const r = new TrafficRecorder();
    r.refused('db', 'laptop', 'east', 'listener', 'no route to router east-1');
    r.closed(r.opened('db', 'west', 'east', 'listener'), 1, 1, 2);
    const bySite = { laptop: publishTraffic(r.snapshot()) };
    const sites = [
      { id: 'L', name: 'laptop' },
      { id: 'W', name: 'west' },
      { id: 'E', name: 'east' },
    ];
    const links = [
      { name: 'l-w', fromSiteId: 'L', toSiteId: 'W', state: 'up', cost: 1 },
      { name: 'w-e', fromSiteId: 'W', toSiteId: 'E', state: 'down', cost: 5, error: 'certificate expired' },
    ];
    const d = diagnose(pairTraffic(bySite), 'db', links, sites);
    assert.deepEqual(
      d.map((x) => [x.sourceSite, x.errors, x.path.map((l) => `${l.name}:${l.state}:${l.cost}`)]),
      [
        ['laptop', 1, ['l-w:up:1', 'w-e:down:5']],
        ['west', 0, ['w-e:down:5']],
      ],
    );
    assert.equal(d[0].errorReasons[0].reason, 'no route to router east-1');
  });

  test('announced with the network status: every site keeps its own; size at 50 sites x 50 services', (t) => {
    const sites = Array.from({ length: 50 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    const services = sites.map((id, i): ServiceDefinition => ({
      address: `service-${String(i).padStart(2, '0')}`,
      protocol: 'tcp',
      ports: [8080],
      targets: [{ name: `backend-${i}`, selector: `app=backend-${i}`, targetPorts: { '8080': 8080 } }],
    }));
    // Every site calls every service (50 listener aggregates) and serves its own to all 49 others.
    const announcements = sites.map((id, i) => {
      // One fixed clock: which rows a site keeps (the most recent, then the busiest) must not depend on
      // whether the millisecond ticked while the test made them.
      const r = new TrafficRecorder({ now: () => 1_700_000_000_000 });
      for (const s of services) {
        const dest = `site-${sites[services.indexOf(s)]}`;
        for (let k = 0; k < 3; k++) r.closed(r.opened(s.address, `site-${id}`, dest, 'listener'), 123_456, 654_321, 2.5);
      }
      for (const other of sites)
        r.closed(r.opened(services[i].address, `site-${other}`, `site-${id}`, 'connector'), 1e6, 2e6, 1.5, 'reset');
      const traffic = publishTraffic(r.snapshot());
      // What a receiver accepts from the wire.
      const a = readAnnouncement(JSON.stringify(announce(id, [services[i]], { traffic })));
      assert.ok(typeof a !== 'string', String(a));
      return a as Announcement;
    });
    const status = buildNetworkStatus(announcements[0], announcements.slice(1), new Date());
    assert.equal(Object.keys(status.traffic ?? {}).length, 50);
    const withTraffic = JSON.stringify(status).length;
    const without = JSON.stringify({ ...status, traffic: undefined }).length;
    t.diagnostic(`network.json at 50 sites x 50 services: ${withTraffic} bytes (${without} without traffic)`);
    // A ConfigMap holds at most 1 MiB: keep the traffic well under half of it.
    assert.ok(withTraffic < 512 * 1024, `${withTraffic} bytes`);
    const pairs = pairTraffic(trafficOfNetwork(JSON.parse(JSON.stringify(status))));
    // Rows beyond the bound fold into "(other)": the network's totals stay exact.
    const rows = Object.values(trafficOfNetwork(JSON.parse(JSON.stringify(status)))).flatMap((p) => p.rows);
    assert.equal(
      rows.filter((r) => r[3] === 0).reduce((s, r) => s + r[4], 0),
      50 * 50 * 3,
    );
    assert.equal(
      rows.filter((r) => r[3] === 1).reduce((s, r) => s + r[7], 0),
      50 * 50 * 1e6,
    );
    // A pair kept by name: its time to first byte is the connector side's 1.5 ms.
    const s0 = pairs.find((p) => p.address === 'service-00' && p.sourceSite === 'site-s01')!;
    assert.ok(s0.flowsTotal >= 1);
    assert.equal(s0.ttfbCounts[ttfbBucket(1.5)], 1);
  });
});
