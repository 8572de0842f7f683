// The network reader against the real test control plane: sites seeded as real objects in namespaces of
// this run (test/ui/seed.ts), contexts that are dead (connection refused) or hang (a listener that never
// answers), the 403 fallback to the own namespace (a ServiceAccount that may only read this run's
// namespaces), and watches driving updates.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NetworkReader } from '../../src/core/network/reader';
import { mergeNetwork } from '../../src/core/network/model';
import { Seed } from '../ui/seed';

describe('network reader (real API servers)', { timeout: 180_000 }, () => {
  let seed: Seed;
  let dir: string;
  let westNs: string;
  let eastNs: string;
  let westId: string;
  let eastId: string;
  before(async () => {
    seed = await new Seed().init();
    dir = mkdtempSync(join(tmpdir(), 'van-reader-'));
    westNs = await seed.namespace('public', `${seed.run}-west`);
    eastNs = await seed.namespace('private', `${seed.run}-east`);
    westId = await seed.site('public', westNs, 'west');
    eastId = await seed.site('private', eastNs, 'east');
    await seed.siteState('public', westNs, {
      links: [{ name: 'link1', remote: 'east', remoteId: eastId, state: 'up', cost: 2 }],
      services: [{ address: 'backend', port: 9090, origin: eastId }],
    });
    await seed.siteState('private', eastNs, { services: [{ address: 'backend', port: 9090, target: 'backend' }] });
  });
  after(async () => {
    await seed?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads every context in parallel; a dead one errors fast and a slow one times out without holding the others', async () => {
    const hang = await seed.hangingServer();
    const file = join(dir, 'config');
    seed.writeKubeconfig(file, [
      { name: 'a', cluster: 'public', namespace: westNs },
      // admin: lists skupper-site across the whole cluster (other runs' sites may show up too)
      { name: 'b', cluster: 'private', admin: true, namespace: 'default' },
      { name: 'dead', cluster: { server: 'https://127.0.0.1:1' } },
      { name: 'slow', cluster: { server: hang } },
    ]);
    const reader = new NetworkReader({ local: false, kubeconfig: file, timeoutMs: 1500 });
    reader.loadContexts();
    const t0 = Date.now();
    await reader.start();
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 4000, `took ${elapsed} ms`);
    const byName = Object.fromEntries(reader.current.contexts.map((c) => [c.name, c]));
    assert.equal(byName.a!.phase, 'ok', byName.a!.error);
    assert.equal(byName.a!.namespaceScoped, true);
    assert.deepEqual(
      byName.a!.namespaces.map((n) => n.name),
      [westNs],
    );
    const west = byName.a!.namespaces[0]!.site!;
    assert.equal(west.name, 'west');
    assert.equal(west.id, westId);
    assert.equal(west.links[0]!.state, 'up');
    assert.equal(west.links[0]!.cost, 2);
    assert.equal(west.links[0]!.remoteSiteName, 'east');
    assert.equal(west.services[0]!.exposedHere, false);
    assert.equal(byName.b!.phase, 'ok', byName.b!.error);
    assert.equal(byName.b!.namespaceScoped, false);
    const bNs = byName.b!.namespaces.map((n) => [n.name, !!n.site] as const);
    assert.deepEqual(bNs[0], ['default', false], JSON.stringify(bNs));
    assert.ok(
      bNs.some(([n, s]) => n === eastNs && s),
      JSON.stringify(bNs),
    );
    assert.ok(!bNs.some(([n]) => n === westNs), 'a site of another cluster');
    assert.equal(byName.dead!.phase, 'error');
    assert.match(byName.dead!.error!, /connection refused/);
    assert.equal(byName.slow!.phase, 'error');
    assert.match(byName.slow!.error!, /no answer within/);
    const net = mergeNetwork(reader.current);
    const ours = net.sites.filter((s) => s.id === westId || s.id === eastId);
    assert.deepEqual(
      ours.map((s) => s.name),
      ['east', 'west'],
    );
    const link = net.links.find((l) => l.fromSiteId === westId)!;
    assert.equal(link.toSiteId, eastId);
    assert.equal(link.toSiteName, 'east');
    const backend = net.services.find((s) => s.address === 'backend')!;
    assert.ok(backend.exposedIn.includes(eastId) && !backend.exposedIn.includes(westId), JSON.stringify(backend));
    assert.ok(backend.consumedIn!.includes(eastId) && backend.consumedIn!.includes(westId), JSON.stringify(backend));
    reader.dispose();
  });

  it('falls back to the own namespace when listing across the cluster is forbidden (RBAC 403)', async () => {
    const team = await seed.namespace('east', `${seed.run}-team`);
    await seed.site('east', team, 'teamsite');
    const file = join(dir, 'config2');
    seed.writeKubeconfig(file, [{ name: 'nsadmin', cluster: 'east', namespace: team }]);
    const reader = new NetworkReader({ local: false, kubeconfig: file, timeoutMs: 5000 });
    await reader.start();
    const c = reader.current.contexts[0]!;
    assert.equal(c.phase, 'ok', c.error);
    assert.equal(c.namespaceScoped, true);
    assert.equal(c.namespaces[0]!.site?.name, 'teamsite');
    reader.dispose();
  });

  it('watches drive updates: a new link secret shows up without a refresh', async () => {
    const w2 = await seed.namespace('public', `${seed.run}-w2`);
    await seed.site('public', w2, 'w2');
    const file = join(dir, 'config3');
    seed.writeKubeconfig(file, [{ name: 'watched', cluster: 'public', namespace: w2 }]);
    const reader = new NetworkReader({ local: false, kubeconfig: file, timeoutMs: 5000, debounceMs: 50 });
    await reader.start();
    assert.equal(reader.current.contexts[0]!.phase, 'ok', reader.current.contexts[0]!.error);
    assert.equal(reader.current.contexts[0]!.namespaces[0]!.site!.links.length, 0);
    await new Promise((r) => setTimeout(r, 500));
    const changed = new Promise<void>((resolve) => {
      reader.on('change', (m) => {
        if (m.contexts[0]!.namespaces[0]?.site?.links.length === 1) resolve();
      });
    });
    await seed.siteState('public', w2, { links: [{ name: 'l9', remote: 'x', state: 'connecting' }] });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      changed,
      new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('no change event within 10 s')), 10_000))),
    ]);
    clearTimeout(timer);
    assert.equal(reader.current.contexts[0]!.namespaces[0]!.site!.links[0]!.state, 'connecting');
    reader.dispose();
  });

  it('merges KUBECONFIG with several files; a missing file is reported only when nothing loads', () => {
    const f1 = join(dir, 'k1');
    const f2 = join(dir, 'k2');
    seed.writeKubeconfig(f1, [{ name: 'one', cluster: { server: 'https://127.0.0.1:1' } }]);
    seed.writeKubeconfig(f2, [{ name: 'two', cluster: { server: 'https://127.0.0.1:1' } }]);
    const reader = new NetworkReader({ local: false, kubeconfig: `${f1}:${f2}:${join(dir, 'missing')}` });
    const m = reader.loadContexts();
    assert.deepEqual(
      m.contexts.map((c) => c.name),
      ['one', 'two'],
    );
    assert.equal(m.kubeconfigError, undefined);
    const none = new NetworkReader({ local: false, kubeconfig: join(dir, 'missing') }).loadContexts();
    assert.match(none.kubeconfigError!, /^no kubeconfig found \(looked at .*missing\)/);
  });
});
