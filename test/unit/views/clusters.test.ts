import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeNetwork } from '../../../src/core/network/model';
import type { ClusterModel, SiteRecord } from '../../../src/core/network/types';
import { clusterRoots, findNode } from '../../../src/views/model/clusters';
import { linkRoots, serviceRoots, statusBar } from '../../../src/views/model/network';
import { topologyGraph } from '../../../src/views/model/topology';

const site = (context: string, ns: string, name: string, extra: Partial<SiteRecord> = {}): SiteRecord => ({
  id: `id-${name}`,
  name,
  context,
  namespace: ns,
  platform: 'kubernetes',
  links: [],
  services: [],
  ...extra,
});

function model(): ClusterModel {
  return {
    kubeconfigFiles: ['/k'],
    local: [],
    contexts: [
      {
        name: 'public',
        namespace: 'public',
        phase: 'ok',
        current: true,
        namespaces: [
          {
            name: 'public',
            own: true,
            site: site('public', 'public', 'pub', {
              services: [{ address: 'backend', protocol: 'tcp', ports: [9090], exposedHere: false, targets: [] }],
            }),
          },
        ],
      },
      {
        name: 'private',
        namespace: 'private',
        phase: 'ok',
        namespaces: [
          { name: 'default', own: false },
          {
            name: 'private',
            own: true,
            site: site('private', 'private', 'priv', {
              links: [{ name: 'link1', cost: 1, state: 'up', remoteSiteId: 'id-pub', remoteSiteName: 'pub' }],
              services: [{ address: 'backend', protocol: 'tcp', ports: [9090], exposedHere: true, targets: ['backend'] }],
            }),
          },
        ],
      },
      { name: 'dead', namespace: 'default', phase: 'error', error: 'cannot reach the API server: connection refused', namespaces: [] },
      { name: 'fresh', namespace: 'default', phase: 'idle', namespaces: [] },
    ],
  };
}

describe('clusters view model', () => {
  it('builds context → namespace → site → links/services with stable ids from the parent chain', () => {
    const roots = clusterRoots(model(), mergeNetwork(model()));
    assert.deepEqual(
      roots.map((r) => r.id),
      ['ctx/public', 'ctx/private', 'ctx/dead', 'ctx/fresh', 'local'],
    );
    assert.equal(roots.at(-1)!.children![0]!.command?.command, 'skupper.startLocalSite');
    const chain = findNode(roots, (n) => n.ref.link === 'link1')!;
    assert.deepEqual(
      chain.map((n) => n.id),
      [
        'ctx/private',
        'ctx/private/ns/private',
        'ctx/private/ns/private/site/priv',
        'ctx/private/ns/private/site/priv/links',
        'ctx/private/ns/private/site/priv/link/link1',
      ],
    );
    const link = chain.at(-1)!;
    assert.equal(link.contextValue, 'link.up');
    assert.match(link.description!, /up · → pub · cost 1/);
    assert.equal(link.icon?.id, 'pass-filled');
  });

  it('shows errors as child nodes and the own namespace without a site with an init action', () => {
    const roots = clusterRoots(model());
    const dead = roots.find((r) => r.label === 'dead')!;
    assert.equal(dead.contextValue, 'context.error');
    assert.equal(dead.children![0]!.contextValue, 'error');
    assert.match(dead.children![0]!.label, /connection refused/);
    const fresh = roots.find((r) => r.label === 'fresh')!;
    assert.equal(fresh.children![0]!.contextValue, 'loading');
    const def = findNode(roots, (n) => n.id === 'ctx/private/ns/default')!.at(-1)!;
    assert.equal(def.contextValue, 'namespace.nosite');
    assert.equal(def.children![0]!.command?.command, 'skupper.init');
  });

  it("context values match the menus' anchored regexes", () => {
    const roots = clusterRoots(model());
    const values = new Set<string>();
    const walk = (ns: typeof roots) => ns.forEach((n) => (values.add(n.contextValue), n.children && walk(n.children)));
    walk(roots);
    assert.ok([...values].some((v) => /^site(\.|$)/.test(v)));
    assert.ok(![...values].some((v) => /^site(\.|$)/.test(v) && !/^site\.(kubernetes|local\.(running|stopped))$/.test(v)));
    assert.ok(values.has('service.exposed') && values.has('service.reachable'));
  });

  it('services: exposed here vs reachable here', () => {
    const roots = clusterRoots(model());
    const exposed = findNode(roots, (n) => n.id === 'ctx/private/ns/private/site/priv/svc/backend')!.at(-1)!;
    assert.equal(exposed.contextValue, 'service.exposed');
    const reachable = findNode(roots, (n) => n.id === 'ctx/public/ns/public/site/pub/svc/backend')!.at(-1)!;
    assert.equal(reachable.contextValue, 'service.reachable');
  });

  it('laptop site services: exposed from this machine, forwarded to a local port, or offered to forward', () => {
    const m = model();
    m.local = [
      site(undefined as unknown as string, '/home/me/sites/laptop', 'laptop', {
        platform: 'local',
        services: [
          { address: 'backend', protocol: 'tcp', ports: [9090], exposedHere: false, targets: [], forwardedTo: '127.0.0.1:19090' },
          { address: 'db', protocol: 'tcp', ports: [5432], exposedHere: true, targets: ['host/127.0.0.1'] },
          { address: 'web', protocol: 'tcp', ports: [8080], exposedHere: false, targets: [] },
        ],
      }),
    ];
    const roots = clusterRoots(m);
    const svc = (address: string) => findNode(roots, (n) => n.id === `local/site/laptop/svc/${address}`)!.at(-1)!;
    assert.deepEqual(
      [svc('backend').contextValue, svc('db').contextValue, svc('web').contextValue],
      ['service.forwarded', 'service.exposed', 'service.forwardable'],
    );
    assert.equal(svc('backend').description, 'tcp 9090 · → 127.0.0.1:19090');
    assert.equal(svc('db').description, 'tcp 5432 · exposed here (host/127.0.0.1)');
    assert.equal(svc('web').description, 'tcp 8080 · not forwarded');
    assert.match(svc('web').tooltip!, /Forward to Local Port/);
    // the site offers Stop while its router runs, Start when it does not
    assert.equal(findNode(roots, (n) => n.id === 'local/site/laptop')!.at(-1)!.contextValue, 'site.local.stopped');
    m.local[0]!.ready = true;
    assert.equal(findNode(clusterRoots(m), (n) => n.id === 'local/site/laptop')!.at(-1)!.contextValue, 'site.local.running');
    assert.deepEqual(svc('backend').ref, {
      platform: 'local',
      context: undefined,
      namespace: '/home/me/sites/laptop',
      siteId: 'id-laptop',
      siteName: 'laptop',
      address: 'backend',
    });
  });
});

describe('network-wide views, status bar, topology', () => {
  const net = mergeNetwork(model());
  it('links view: one row per link with from → to', () => {
    const rows = linkRoots(net);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.label, 'priv → pub');
    assert.equal(rows[0]!.contextValue, 'netLink.up');
    assert.equal(rows[0]!.ref.context, 'private');
  });
  it('services view: exposed in / reachable in', () => {
    const rows = serviceRoots(net);
    assert.equal(rows[0]!.label, 'backend');
    assert.match(rows[0]!.description!, /exposed in priv/);
    assert.deepEqual(
      rows[0]!.children!.map((c) => c.description),
      ['exposed here', 'reachable here'],
    );
  });
  it('status bar: sites and links up/total', () => {
    assert.match(statusBar(net).text, /2 sites · 1\/1 links/);
    assert.equal(statusBar(net).severity, 'ok');
    const down = { ...net, links: net.links.map((l) => ({ ...l, state: 'down' as const })) };
    assert.equal(statusBar(down).severity, 'error');
    assert.match(statusBar({ updated: '', sites: [], links: [], services: [] }).text, /no sites/);
  });
  it('topology: sites grouped by cluster, links as edges with state, services as badges', () => {
    const g = topologyGraph(net);
    assert.deepEqual(
      g.nodes
        .filter((n) => n.data.kind === 'cluster')
        .map((n) => n.data.id)
        .sort(),
      ['cluster:private', 'cluster:public'],
    );
    const priv = g.nodes.find((n) => n.data.id === 'site:id-priv')!;
    assert.equal(priv.data.parent, 'cluster:private');
    assert.equal(priv.data.services, 'backend');
    assert.deepEqual(
      g.edges.map((e) => [e.data.source, e.data.target, e.data.state]),
      [['site:id-priv', 'site:id-pub', 'up']],
    );
    assert.deepEqual(g.summary, { sites: 2, links: 1, up: 1, services: 1 });
  });
});

describe('services reachable through service sync', () => {
  it("a service in the site's published network.json is reachable here", async () => {
    const { buildSite } = await import('../../../src/core/network/model');
    const s = buildSite({
      context: 'public',
      namespace: 'pub',
      site: { metadata: { name: 'skupper-site', namespace: 'pub', uid: 'u1' }, data: { name: 'pub' } },
      services: { data: {} },
      status: {
        data: {
          'site.json': JSON.stringify({
            siteId: 'id-pub',
            siteName: 'pub',
            updated: 'x',
            connections: [{ role: 'inter-router', direction: 'incoming', state: 'up', remoteSiteName: 'priv', cost: 1, since: 'y' }],
          }),
          'network.json': JSON.stringify({
            updated: 'x',
            sites: [],
            links: [],
            services: [{ address: 'echo', protocol: 'tcp', ports: [9090], exposedIn: ['id-priv'] }],
          }),
        },
      },
    });
    assert.equal(s.id, 'id-pub');
    assert.deepEqual(
      s.services.map((x) => [x.address, x.exposedHere]),
      [['echo', false]],
    );
    assert.equal(s.links[0]!.incoming, true);
    assert.equal(s.links[0]!.state, 'up');
  });
});

describe('row descriptions stay still', () => {
  it("a link's age shows from one minute on, in minutes, so rows do not change every second", () => {
    const now = Date.now();
    const m = model();
    const priv = m.contexts[1]!.namespaces[1]!.site!;
    priv.links = [{ name: 'link1', cost: 1, state: 'up', remoteSiteName: 'pub', since: new Date(now - 20_000).toISOString() }];
    const desc = () => findNode(clusterRoots(m), (n) => n.ref.link === 'link1')!.at(-1)!.description;
    assert.equal(desc(), 'up · → pub · cost 1');
    priv.links[0]!.since = new Date(now - 5 * 60_000).toISOString();
    assert.equal(desc(), 'up · → pub · cost 1 · for 5m');
    assert.match(findNode(clusterRoots(m), (n) => n.ref.link === 'link1')!.at(-1)!.tooltip!, /Since: /);
  });
});
