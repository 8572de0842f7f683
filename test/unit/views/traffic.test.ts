// The views' traffic: rates from successive publications, the Services view's text, the topology's traffic
// edges (filtered by service), and the panel's page (flows, sparklines, diagnosis; published text escaped).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { publishTraffic } from '../../../src/core/network/traffic';
import type { NetworkStatus } from '../../../src/core/network/types';
import { TrafficRecorder } from '../../../src/core/router/traffic';
import { serviceRoots } from '../../../src/views/model/network';
import { TrafficHistory, edgeLabel } from '../../../src/views/model/traffic';
import { trafficPanelHtml } from '../../../src/views/model/trafficPanelHtml';
import { trafficEdges } from '../../../src/views/model/trafficTopology';

const net: NetworkStatus = {
  updated: '',
  sites: [
    { id: 'P', name: 'public', namespace: 'a', platform: 'kubernetes' },
    { id: 'Q', name: 'private', namespace: 'b', platform: 'kubernetes' },
  ],
  links: [{ name: 'link1', fromSiteId: 'Q', toSiteId: 'P', state: 'up', cost: 1 }],
  services: [
    { address: 'echo', protocol: 'tcp', ports: [9090], exposedIn: ['P'], consumedIn: ['Q'] },
    { address: 'db', protocol: 'tcp', ports: [5432], exposedIn: ['P'], consumedIn: ['Q'] },
  ],
};

describe('views: traffic', () => {
  test('rates from two publications; edges by site pair, filtered by service; labels', () => {
    let clock = 100_000;
    const client = new TrafficRecorder({ now: () => clock });
    const open = client.opened('echo', 'private', 'public', 'listener');
    const history = new TrafficHistory(() => clock);
    const at = (bytesOut: number) => ({ private: publishTraffic(client.snapshot((v) => v(open, bytesOut, 0, 1))) });
    history.update(at(1000), net.services);
    clock += 2000;
    history.update(at(5000), net.services);
    const svc = history.service('echo', [9090]);
    assert.equal(svc.bytesPerSecond, 2000);
    assert.equal(svc.flowsActive, 1);
    const edges = trafficEdges(net, history);
    assert.deepEqual(
      edges.map((e) => [e.data.source, e.data.target, e.data.label]),
      [['site:Q', 'site:P', '2.0 kB/s · 1 conn']],
    );
    assert.equal(trafficEdges(net, history, 'db').length, 0, 'no db traffic');
    assert.equal(trafficEdges(net, history, 'echo')[0].data.bytesPerSecond, 2000);
    // Stale: nobody published for a while.
    clock += 60_000;
    assert.equal(history.service('echo', [9090]).bytesPerSecond, 0);
    assert.equal(edgeLabel({ ...edges[0].data, bytesOut: 5000, bytesIn: 0, bytesPerSecond: 0 }), '5.0 kB · 1 conn');
    // The Services view: rate and active connections in the description.
    const roots = serviceRoots(net, (a, p) => history.service(a, p));
    assert.match(roots.find((r) => r.label === 'echo')!.description!, /0 B\/s · 1 active/);
    assert.doesNotMatch(roots.find((r) => r.label === 'db')!.description!, /active/);
    client.closed(open, 5000, 0, 1);
  });

  test("rates come from one site's own successive publications, never mixed with another site's clock", () => {
    let clock = 0;
    const client = new TrafficRecorder({ now: () => clock });
    const server = new TrafficRecorder({ now: () => clock });
    const c = client.opened('echo', 'private', 'public', 'listener');
    const s = server.opened('echo', 'private', 'public', 'connector');
    const history = new TrafficHistory(() => clock);
    let fromClient = publishTraffic(client.snapshot((v) => v(c, 0, 0, 1)));
    let fromServer = publishTraffic(server.snapshot((v) => v(s, 0, 0, 1)));
    history.update({ private: fromClient, public: fromServer }, net.services);
    // 1 MB/s for 10 s, each site publishing every 5 s at its own moment (the server 100 ms later).
    for (let t = 5000; t <= 10_000; t += 5000) {
      clock = t;
      fromClient = publishTraffic(client.snapshot((v) => v(c, t * 1000, 0, 1)));
      history.update({ private: fromClient, public: fromServer }, net.services);
      clock = t + 100;
      fromServer = publishTraffic(server.snapshot((v) => v(s, (t + 100) * 1000, 0, 1)));
      history.update({ private: fromClient, public: fromServer }, net.services);
      assert.equal(history.service('echo', [9090]).bytesPerSecond, 1e6, `at ${t}`);
      assert.equal(history.edges()[0].bytesPerSecond, 1e6);
    }
    assert.ok(history.serviceSeries('echo').every((p) => p.bytesPerSecond <= 1e6));
    client.closed(c, 0, 0, 1);
    server.closed(s, 0, 0, 1);
  });

  test('the panel: last flows, a sparkline, why failing with the path; what sites publish is escaped', () => {
    const r = new TrafficRecorder();
    r.closed(r.opened('echo', 'private', 'public', 'listener'), 10, 20, 1);
    r.closed(r.opened('echo', 'private', 'public', 'listener'), 1, 0, undefined, '<script>alert(1)</script>');
    const history = new TrafficHistory();
    history.update({ Q: publishTraffic(r.snapshot()) }, net.services);
    const html = trafficPanelHtml({ kind: 'service', address: 'echo' }, net, history, '');
    assert.match(html, /<table id="flows">/);
    assert.equal((html.match(/<tr class="end-/g) ?? []).length, 2);
    assert.ok(!html.includes('<script>'), 'no script from a reason');
    assert.match(html, /&lt;script&gt;/);
    assert.match(html, /Why slow or failing \(1 errors\)/);
    assert.match(html, /private — link1 \(up, cost 1\) — public/);
    const pair = trafficPanelHtml({ kind: 'pair', sourceSite: 'private', destSite: 'public' }, net, history, '');
    assert.equal((pair.match(/<tr class="end-/g) ?? []).length, 2);
  });
});
