import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { containerPorts, toWorkloadRecord } from '../../../src/core/network/workloads';
import type { ClusterModel, SiteRecord, WorkloadRecord } from '../../../src/core/network/types';
import { clusterRoots, findNode } from '../../../src/views/model/clusters';
import { exposedAs, workloadNodes, workloadsFolderNode } from '../../../src/views/model/workloads';

const site = (extra: Partial<SiteRecord> = {}): SiteRecord => ({
  id: 'id-priv',
  name: 'priv',
  context: 'private',
  namespace: 'shop',
  platform: 'kubernetes',
  links: [],
  services: [],
  ...extra,
});
const echo: WorkloadRecord = { kind: 'deployment', name: 'tcp-go-echo', namespace: 'shop', ports: [9090], replicas: 1, readyReplicas: 1 };
const db: WorkloadRecord = { kind: 'statefulset', name: 'db', namespace: 'shop', ports: [5432, 9187], replicas: 2, readyReplicas: 1 };

function model(s: SiteRecord, local: SiteRecord[] = []): ClusterModel {
  return {
    kubeconfigFiles: ['/k'],
    local,
    contexts: [{ name: 'private', namespace: 'shop', phase: 'ok', namespaces: [{ name: 'shop', own: true, site: s }] }],
  };
}

describe('workloads folder under a site', () => {
  it('a Kubernetes site has a lazy, collapsed Workloads folder with an id from the parent chain', () => {
    const roots = clusterRoots(model(site()));
    const chain = findNode(roots, (n) => n.contextValue === 'folder.workloads')!;
    assert.deepEqual(
      chain.map((n) => n.id),
      ['ctx/private', 'ctx/private/ns/shop', 'ctx/private/ns/shop/site/priv', 'ctx/private/ns/shop/site/priv/workloads'],
    );
    const folder = chain.at(-1)!;
    assert.equal(folder.label, 'Workloads');
    assert.equal(folder.lazy, 'workloads');
    assert.equal(folder.collapsible, 'collapsed');
    assert.equal(folder.children, undefined);
    assert.deepEqual(folder.ref, { context: 'private', namespace: 'shop', siteId: 'id-priv', siteName: 'priv', platform: 'kubernetes' });
    // links, services, then workloads
    assert.deepEqual(
      chain[2]!.children!.map((c) => c.contextValue),
      ['folder.links', 'folder.services', 'folder.workloads'],
    );
  });

  it('a laptop site has no Workloads folder', () => {
    const laptop: SiteRecord = { ...site(), id: 'id-lap', name: 'lap', context: 'laptop', namespace: '/tmp/lap', platform: 'local' };
    const roots = clusterRoots(model(site(), [laptop]));
    const lap = findNode(roots, (n) => n.ref.siteId === 'id-lap' && n.contextValue.startsWith('site.local'))!.at(-1)!;
    assert.ok(!lap.children!.some((c) => c.contextValue === 'folder.workloads'));
  });
});

describe('workload nodes', () => {
  const folder = workloadsFolderNode(site(), 'ctx/private/ns/shop/site/priv');

  it('one node per workload: ports in the description, kind in the context value, all Expose needs in ref', () => {
    const nodes = workloadNodes(folder, site(), { workloads: [echo, db] });
    assert.deepEqual(
      nodes.map((n) => n.id),
      ['ctx/private/ns/shop/site/priv/workloads/deployment/tcp-go-echo', 'ctx/private/ns/shop/site/priv/workloads/statefulset/db'],
    );
    const [e, d] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    assert.equal(e.label, 'tcp-go-echo');
    assert.equal(e.description, 'port 9090');
    assert.equal(e.contextValue, 'workload.deployment');
    assert.equal(e.collapsible, 'none');
    assert.deepEqual(e.ref, {
      context: 'private',
      namespace: 'shop',
      siteId: 'id-priv',
      siteName: 'priv',
      platform: 'kubernetes',
      kind: 'deployment',
      name: 'tcp-go-echo',
      ports: [9090],
      address: undefined,
    });
    assert.equal(d.description, 'ports 5432, 9187');
    assert.equal(d.contextValue, 'workload.statefulset');
    assert.match(d.tooltip!, /Replicas: 1\/2 ready/);
  });

  it('a workload the site exposes is `.exposed`, with the service address for Unexpose', () => {
    const s = site({
      services: [
        { address: 'echo', protocol: 'tcp', ports: [9090], exposedHere: true, targets: ['tcp-go-echo'] },
        { address: 'db', protocol: 'tcp', ports: [5432], exposedHere: false, targets: [] },
      ],
    });
    assert.deepEqual(exposedAs(s, echo), ['echo']);
    assert.deepEqual(exposedAs(s, db), [], 'reachable here is not exposed here');
    const [e, d] = workloadNodes(folder, s, { workloads: [echo, db] });
    assert.equal(e!.contextValue, 'workload.deployment.exposed');
    assert.equal(e!.ref.address, 'echo');
    assert.match(e!.description!, /port 9090 · exposed as echo/);
    assert.equal(d!.contextValue, 'workload.statefulset');
  });

  it('an error is a child node; an empty namespace says so', () => {
    const [err] = workloadNodes(folder, site(), { error: 'forbidden: deployments.apps is forbidden' });
    assert.equal(err!.contextValue, 'error');
    assert.equal(err!.id, `${folder.id}/error`);
    assert.match(err!.label, /forbidden/);
    const [none] = workloadNodes(folder, site(), { workloads: [] });
    assert.equal(none!.contextValue, 'info');
    assert.match(none!.label, /No deployments or statefulsets in shop/);
  });

  it('ids are stable across rebuilds and do not depend on the order or the exposed state', () => {
    const a = workloadNodes(folder, site(), { workloads: [echo, db] })
      .map((n) => n.id)
      .sort();
    const s = site({ services: [{ address: 'echo', protocol: 'tcp', ports: [9090], exposedHere: true, targets: ['tcp-go-echo'] }] });
    const b = workloadNodes(folder, s, { workloads: [db, echo] })
      .map((n) => n.id)
      .sort();
    assert.deepEqual(a, b);
  });

  it("menus: the context values match package.json's anchored regexes for Expose and Unexpose", () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8'));
    const entries: { command: string; when: string; group: string }[] = pkg.contributes.menus['view/item/context'];
    const regexOf = (when: string) => new RegExp(/viewItem =~ \/(.*)\/$/.exec(when)?.[1] ?? '(?!)');
    const shows = (command: string, value: string, inline: boolean) =>
      entries.some(
        (e) =>
          e.command === command &&
          e.when.startsWith('view == skupper.clusters') &&
          e.group.startsWith('inline') === inline &&
          regexOf(e.when).test(value),
      );
    for (const v of ['workload.deployment', 'workload.statefulset']) {
      assert.ok(shows('skupper.expose', v, false), `Expose in the context menu of ${v}`);
      assert.ok(shows('skupper.expose', v, true), `inline Expose on ${v}`);
      assert.ok(!shows('skupper.unexpose', v, false), `no Unexpose on ${v}`);
    }
    for (const v of ['workload.deployment.exposed', 'workload.statefulset.exposed']) {
      assert.ok(shows('skupper.unexpose', v, false) && shows('skupper.unexpose', v, true), `Unexpose on ${v}`);
      assert.ok(shows('skupper.expose', v, false), `Expose (again) in the context menu of ${v}`);
      assert.ok(!shows('skupper.expose', v, true), `no inline Expose on ${v}`);
    }
    assert.ok(!shows('skupper.expose', 'folder.workloads', false) && !shows('skupper.expose', 'folder.workloads', true));
  });
});

describe('reading workloads', () => {
  it('containerPorts of every container, sorted, without duplicates', () => {
    assert.deepEqual(
      containerPorts({
        spec: { containers: [{ ports: [{ containerPort: 9090 }, { containerPort: 80 }] }, { ports: [{ containerPort: 9090 }] }, {}] },
      }),
      [80, 9090],
    );
    assert.deepEqual(containerPorts(undefined), []);
  });
  it('a Deployment object becomes a WorkloadRecord', () => {
    const r = toWorkloadRecord('deployment', 'shop', {
      metadata: { name: 'tcp-go-echo' },
      spec: { replicas: 1, template: { spec: { containers: [{ ports: [{ containerPort: 9090 }] }] } } },
      status: {},
    });
    assert.deepEqual(r, { kind: 'deployment', name: 'tcp-go-echo', namespace: 'shop', ports: [9090], replicas: 1, readyReplicas: 0 });
    assert.equal(toWorkloadRecord('deployment', 'shop', { metadata: {} }), undefined);
    assert.equal(
      toWorkloadRecord('deployment', 'shop', { metadata: { name: 'skupper-router', labels: { 'app.kubernetes.io/part-of': 'skupper' } } }),
      undefined,
      "the site's own router is not listed",
    );
  });
});
