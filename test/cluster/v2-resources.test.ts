// Skupper 2.x resources against a real API server: `van crds install` (and its refusal without
// cluster-admin), then the controller (run here, in-process, on the namespaces of this test) turns a
// Site into a site and writes the conditions `kubectl wait --for=condition=Ready` reads; a Connector
// with a bad field gets a condition with a reason; 1.x-style verbs refuse on a 2.x site and a Site
// refuses a namespace whose site `van init` made.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeClient } from '../../src/core/kube/client';
import { createCA, issueCertificate } from '../../src/core/pki';
import { readRouterBundleGzip } from '../../src/core/site/bundle';
import { V2Controller } from '../../src/core/v2/controller';
import { exposeAsConnector } from '../../src/core/v2/expose';
import { MODE_ANNOTATION } from '../../src/core/v2/mode';
import { clusterSetup, createNamespace, deleteNamespace, eventually, uniqueName } from './helpers';
import type { Kube } from './kube';
import { projectRoot } from './paths';

const cluster = (process.env.VAN_TEST_CLUSTERS?.split(',')[0] || 'public').trim();
const ns = uniqueName('v2site');
const legacy = uniqueName('v2legacy');
let kube: Kube;
let kubeconfigPath = '';
let controller: V2Controller | undefined;
const log: string[] = [];

function van(namespace: string, context: string, ...args: string[]) {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(projectRoot, 'src/cli/main.ts'),
      '--kubeconfig',
      kubeconfigPath,
      '--context',
      context,
      '-n',
      namespace,
      ...args,
    ],
    { encoding: 'utf8', cwd: projectRoot, timeout: 120_000, env: { ...process.env, VAN_PROJECT_ROOT: projectRoot } },
  );
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

const path = (namespace: string, plural: string, name = '') =>
  `/apis/skupper.io/v2alpha1/namespaces/${namespace}/${plural}${name ? `/${name}` : ''}`;

async function create(namespace: string, plural: string, kind: string, name: string, spec: Record<string, unknown>): Promise<void> {
  const r = await kube.post(path(namespace, plural), { apiVersion: 'skupper.io/v2alpha1', kind, metadata: { name }, spec });
  assert.equal(r.status, 201, `create ${kind} ${name}: ${r.status} ${r.text}`);
}

/** What `kubectl wait --for=condition=TYPE` checks: the condition's status on the object. */
async function waitCondition(namespace: string, plural: string, name: string, type: string, status: 'True' | 'False', timeoutMs = 90_000) {
  return eventually(`${plural}/${name} condition ${type}=${status}`, timeoutMs, async () => {
    const r = await kube.get(path(namespace, plural, name));
    const c = (r.body?.status?.conditions ?? []).find((x: { type: string }) => x.type === type);
    return c?.status === status ? { object: r.body, condition: c } : undefined;
  });
}

before(
  async () => {
    const cp = await clusterSetup();
    kubeconfigPath = cp.kubeconfigPath;
    kube = cp.kube(cluster);
    await Promise.all([createNamespace(kube, ns), createNamespace(kube, legacy)]);
  },
  { timeout: 300_000 },
);

after(async () => {
  await controller?.stop();
  await Promise.all([deleteNamespace(kube, ns), deleteNamespace(kube, legacy)]);
  if (process.env.V2_TEST_LOG) process.stdout.write(log.join('\n') + '\n');
});

describe('Skupper 2.x resources', () => {
  test('van crds install: refused with the reason for a namespace admin, done for a cluster admin', { timeout: 120_000 }, async () => {
    const denied = van('team', `${cluster}-ns-admin`, 'crds', 'install');
    assert.equal(denied.code, 1, denied.out);
    assert.match(
      denied.err,
      /not allowed to install CustomResourceDefinition .*cluster-admin rights; ask a cluster admin to run "van crds install"/,
    );

    const done = van(ns, cluster, 'crds', 'install', '-o', 'json');
    assert.equal(done.code, 0, done.err);
    const result = JSON.parse(done.out);
    assert.deepEqual(result.crds.map((c: { name: string }) => c.name).sort(), [
      'accessgrants.skupper.io',
      'accesstokens.skupper.io',
      'connectors.skupper.io',
      'links.skupper.io',
      'listeners.skupper.io',
      'sites.skupper.io',
    ]);
    for (const name of ['sites', 'connectors', 'listeners', 'links', 'accessgrants', 'accesstokens']) {
      const crd = await kube.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}.skupper.io`);
      assert.equal(crd.status, 200);
      assert.ok(
        crd.body.status.conditions.some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True'),
        name,
      );
    }
    const status = van(ns, cluster, 'crds', 'status', '-o', 'json');
    assert.equal(status.code, 0, status.err);
    assert.ok(JSON.parse(status.out).every((r: { installed: boolean }) => r.installed));

    // The schema is the API server's: a Connector without its required port is refused at the door.
    const r = await kube.post(path(ns, 'connectors'), {
      apiVersion: 'skupper.io/v2alpha1',
      kind: 'Connector',
      metadata: { name: 'noport' },
      spec: { routingKey: 'x', selector: 'a=b' },
    });
    assert.equal(r.status, 422, r.text);
    assert.match(r.text, /spec.port: Required value/);
    // The aggregated ClusterRole gives namespace admins the new kinds.
    const adminKube = (await clusterSetup()).kube(`${cluster}-ns-admin`);
    const list = await eventually('the ns admin lists Sites in team', 30_000, async () =>
      (await adminKube.get(path('team', 'sites'))).status === 200 ? true : undefined,
    );
    assert.ok(list);
  });

  test('a Site makes a site; conditions as Skupper 2.x writes them; a bad Connector gets a reason', { timeout: 240_000 }, async () => {
    const base = KubeClient.forContext({ kubeconfig: kubeconfigPath, context: cluster, namespace: ns });
    const bundle = readRouterBundleGzip().gzip;
    controller = new V2Controller({
      client: base,
      namespaces: [ns, legacy],
      bundleGzip: () => bundle,
      resyncMs: 1000,
      log: (l) => log.push(l),
    });
    controller.start();

    await create(ns, 'sites', 'Site', 'west', { linkAccess: 'default' });
    const configured = await waitCondition(ns, 'sites', 'west', 'Configured', 'True');
    assert.equal(configured.condition.reason, 'Ready');
    assert.equal(configured.condition.message, 'OK');
    const siteCm = await kube.get(`/api/v1/namespaces/${ns}/configmaps/skupper-site`);
    assert.equal(siteCm.status, 200);
    assert.equal(siteCm.body.data.name, 'west');
    assert.equal(siteCm.body.metadata.annotations[MODE_ANNOTATION], 'v2alpha1', 'the site records its mode');
    assert.ok(siteCm.body.metadata.ownerReferences.some((o: { kind: string; name: string }) => o.kind === 'Site' && o.name === 'west'));

    const readySite = await waitCondition(ns, 'sites', 'west', 'Ready', 'True', 120_000);
    const types = readySite.object.status.conditions.map((c: { type: string }) => c.type).sort();
    assert.deepEqual(types, ['Configured', 'Ready', 'Resolved', 'Running']);
    assert.equal(readySite.object.status.status, 'Ready');
    assert.ok(readySite.object.status.sitesInNetwork >= 1);
    assert.ok(readySite.object.status.endpoints.some((e: { name: string }) => e.name === 'inter-router'));

    // 1.x-style verbs refuse on a 2.x site, saying what to do instead.
    const expose = van(ns, cluster, 'expose', 'deployment/x', '--port', '80');
    assert.equal(expose.code, 1);
    assert.match(expose.err, /managed by Skupper 2.x resources .*change the resources instead/);
    const del = van(ns, cluster, 'delete');
    assert.equal(del.code, 1);
    assert.match(del.err, /delete the Site resource instead/);

    // A bad field: a condition with a reason, never a crash; the next good Connector still works.
    await create(ns, 'connectors', 'Connector', 'bad', { routingKey: 'echo', port: 9090, selector: 'not a selector!' });
    const bad = await waitCondition(ns, 'connectors', 'bad', 'Configured', 'False');
    assert.equal(bad.condition.reason, 'Error');
    assert.match(bad.condition.message, /spec.selector "not a selector!" is not a label selector/);
    assert.equal(bad.object.status.status, 'Error');
    await create(ns, 'connectors', 'Connector', 'good', { routingKey: 'echo', port: 9090, selector: 'application=echo' });
    await waitCondition(ns, 'connectors', 'good', 'Ready', 'True');
    const services = await kube.get(`/api/v1/namespaces/${ns}/configmaps/skupper-services`);
    const def = JSON.parse(services.body.data.echo);
    assert.deepEqual(def.ports, [9090]);
    assert.equal(def.targets[0].selector, 'application=echo');
    assert.equal(Object.keys(services.body.data).length, 1, 'the bad Connector wrote nothing');

    // A Listener with a host of its own: a Service in front of the router, once a connector matches.
    await create(ns, 'listeners', 'Listener', 'front', { routingKey: 'echo', host: 'echo-front', port: 7000 });
    const listener = await waitCondition(ns, 'listeners', 'front', 'Ready', 'True');
    assert.equal(listener.object.status.hasMatchingConnector, true);
    const front = await kube.get(`/api/v1/namespaces/${ns}/services/echo-front`);
    assert.equal(front.status, 200);
    assert.deepEqual(front.body.spec.selector, { application: 'skupper-router', 'skupper.io/component': 'router' });
    assert.equal(front.body.spec.ports[0].port, 7000);

    // A Link written by hand (as Skupper 2.x's `link generate` writes it): its Secret becomes a link Secret.
    const ca = createCA('elsewhere');
    const client = issueCertificate(ca, { commonName: 'west', usage: 'client' });
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'to-elsewhere' },
      data: { 'ca.crt': b64(ca.certPem), 'tls.crt': b64(client.certPem), 'tls.key': b64(client.keyPem) },
    };
    assert.equal((await kube.post(`/api/v1/namespaces/${ns}/secrets`, secret)).status, 201);
    // nothing listens on 127.0.0.1:9 (discard): the link stays down, with the router's reason
    await create(ns, 'links', 'Link', 'to-elsewhere', {
      endpoints: [{ name: 'inter-router', host: '127.0.0.1', port: '9' }],
      tlsCredentials: 'to-elsewhere',
      cost: 3,
    });
    await waitCondition(ns, 'links', 'to-elsewhere', 'Configured', 'True');
    const adopted = await kube.get(`/api/v1/namespaces/${ns}/secrets/to-elsewhere`);
    assert.equal(adopted.body.metadata.labels['skupper.io/type'], 'connection-token');
    assert.equal(adopted.body.metadata.annotations['inter-router-host'], '127.0.0.1');
    assert.equal(adopted.body.metadata.annotations['skupper.io/cost'], '3');
    const down = await waitCondition(ns, 'links', 'to-elsewhere', 'Operational', 'False');
    assert.equal(down.condition.reason, 'Pending');
    assert.equal(down.object.status.status, 'Pending');

    // Deleting the Connector removes its service definition; the Listener says it has no connector.
    assert.equal((await kube.del(path(ns, 'connectors', 'good'))).status, 200);
    await eventually('echo gone from skupper-services', 30_000, async () => {
      const cm = await kube.get(`/api/v1/namespaces/${ns}/configmaps/skupper-services`);
      return cm.body.data?.echo === undefined;
    });
    const orphan = await waitCondition(ns, 'listeners', 'front', 'Operational', 'False');
    assert.equal(orphan.condition.reason, 'Pending');
    assert.equal(orphan.object.status.hasMatchingConnector, false);

    // Expose on a 2.x site (the editor's path): a Connector from the Deployment's own selector.
    const labels = { application: 'echo-app' };
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'echo-app' },
      spec: {
        replicas: 0,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'e', image: 'quay.io/skupper/tcp-go-echo' }] } },
      },
    };
    assert.equal((await kube.post(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment)).status, 201);
    const written = await exposeAsConnector(base, { kind: 'deployment', name: 'echo-app', port: 9090 });
    assert.deepEqual(written.spec, { routingKey: 'echo-app', port: 9090, selector: 'application=echo-app' });
    await waitCondition(ns, 'connectors', 'echo-app', 'Configured', 'True');
  });

  test('a Site refuses a namespace whose site van init made; deleting a Site removes its site', { timeout: 240_000 }, async () => {
    const init = van(legacy, cluster, 'init', '--ingress', 'none');
    assert.equal(init.code, 0, init.err);
    await create(legacy, 'sites', 'Site', 'newer', {});
    const refused = await waitCondition(legacy, 'sites', 'newer', 'Configured', 'False');
    assert.equal(refused.condition.reason, 'Error');
    assert.match(refused.condition.message, /already has site .*made by "van init".*delete it \("van delete"\)/);
    const cm = await kube.get(`/api/v1/namespaces/${legacy}/configmaps/skupper-site`);
    assert.equal(cm.body.metadata.annotations?.[MODE_ANNOTATION], undefined, 'the 1.x site is left alone');

    assert.equal((await kube.del(path(ns, 'sites', 'west'))).status, 200);
    await eventually(
      'site ConfigMap of west garbage-collected',
      60_000,
      async () => (await kube.get(`/api/v1/namespaces/${ns}/configmaps/skupper-site`)).status === 404,
    );
    await eventually(
      'router Deployment of west garbage-collected',
      60_000,
      async () => (await kube.get(`/apis/apps/v1/namespaces/${ns}/deployments/skupper-router`)).status === 404,
    );
  });
});
